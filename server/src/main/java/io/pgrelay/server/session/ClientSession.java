package io.pgrelay.server.session;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.pgrelay.pool.BackendCredentials;
import io.pgrelay.pool.Pool;
import io.pgrelay.failover.Node;
import io.pgrelay.pool.PoolException;
import io.pgrelay.pool.PoolKey;
import io.pgrelay.pool.ServerAddress;
import io.pgrelay.pool.ServerConnection;
import io.pgrelay.pool.ServerListener;
import io.pgrelay.router.RoutingException;
import io.pgrelay.router.classify.ClassifiedQuery;
import io.pgrelay.router.policy.ClientRoutingState;
import io.pgrelay.router.policy.RouteReason;
import io.pgrelay.router.policy.StatementRoute;
import io.pgrelay.router.sql.SessionEffect;
import io.pgrelay.router.sql.SqlAnalysis;
import io.pgrelay.router.sql.StatementInfo;
import io.pgrelay.router.sql.StatementKind;
import io.pgrelay.router.stats.NodeCounters;
import io.pgrelay.server.cancel.CancelRegistry;
import io.pgrelay.wire.SqlState;
import io.pgrelay.wire.WireException;
import io.pgrelay.wire.codec.MessageFramer;
import io.pgrelay.wire.message.backend.BackendMessage;
import io.pgrelay.wire.message.backend.BackendMessage.ErrorResponse;
import io.pgrelay.wire.message.backend.TransactionStatus;
import io.pgrelay.wire.message.frontend.ExtendedQuery;
import io.pgrelay.wire.message.frontend.FrontendMessage;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A logged-in client and the server connection that serves it: bytes flow both ways untouched,
 * with back-pressure, while pgrelay watches only what decides when the server is free. Runs on
 * the client channel's event loop, which also serves the server connection, so its state needs
 * no locks.
 *
 * <p>In session pooling the client keeps one server until it leaves. In transaction pooling it
 * leases a server when it sends something and gives it back at ReadyForQuery {@code I}; then
 * pgrelay also keeps the client's settings and protocol-level prepared statements and brings
 * each server it gets up to date (see {@link SessionSettings}, {@link PendingResponses}).
 *
 * <p>Read/write splitting, in transaction pooling only: when the client needs a server, the
 * {@link RequestRouter} routes the messages it has sent ({@link #routeHeld()}). A replica gets
 * them only if they are all replica-safe and end a request (Sync or Query), and while it answers
 * them nothing more is sent to it: later work is routed afresh, so a write never reaches a standby.
 * A BEGIN sent alone is answered by pgrelay and sent first to the node the transaction's first
 * statement picks (a replica for a READ ONLY transaction), which the client keeps until
 * ReadyForQuery {@code I}.
 */
public final class ClientSession extends ClientHandler
        implements MessageFramer.Sink, ServerListener, CancelRegistry.Cancellable {
    private static final Logger log = LoggerFactory.getLogger(ClientSession.class);
    /** Watched client messages in session pooling: the ones answered by ReadyForQuery, and Terminate. */
    private static final String SESSION_INSPECTED = "QSFX";
    /** In transaction pooling also every extended-query message, to account for its answers. */
    private static final String TRANSACTION_INSPECTED = "QSFXPBDECH";
    /** Server messages that end the answer to a request, watched in transaction pooling. */
    private static final String TRACKED_SERVER_TYPES = "123ntTCIs";
    /** A pool handing out one dead connection after another is not hidden from the client for long. */
    private static final int MAX_UNUSED_SERVERS_LOST = 3;

    private final Pool pool;
    private final MessageFramer framer;
    private final boolean transactionPooling;
    private final Map<String, String> leaseParameters;
    private final BackendCredentials credentials;
    private final SessionSettings settings;
    private final SessionEffects effects;
    private final PendingResponses pending = new PendingResponses();
    private final Map<String, ClientStatement> statements = new HashMap<>();
    /** Client bytes that arrived while no server was attached, in order. */
    private final ArrayDeque<ByteBuf> held = new ArrayDeque<>();
    private ServerConnection server;
    private CancelRegistry.Key cancelKey;
    private boolean welcomed;
    private boolean welcomeDue;
    private boolean leasing;
    /** System.nanoTime() when the lease under way was asked for. */
    private long leaseStartNanos;
    /** System.nanoTime() when the Query or Sync being timed went to the server; 0 when none is. */
    private long queryStartNanos;
    private boolean wroteToServer;
    private boolean terminateRequested;
    private boolean serverFatalSeen;
    /** Transaction pooling: something of the client's went to the attached server since it was leased. */
    private boolean clientBytesSent;
    /** Servers lost in a row before any of the client's bytes reached them (bounds the retries). */
    private int unusedServersLost;
    private boolean closeWhenIdle;
    /** Extended-query messages sent since the last Sync: the server must stay until it. */
    private boolean batchOpen;
    /** pgrelay answered a message of this batch with an error: drop the rest up to Sync. */
    private boolean droppingUntilSync;
    /** The server reported an error in this batch and ignores everything up to Sync. */
    private boolean serverSkippingUntilSync;
    private ErrorResponse settingsError;
    private boolean pinLogged;
    /** Transaction pooling: what routing remembers of this client; null in session pooling. */
    private final ClientRoutingState routing;
    /** The pool the attached server belongs to: the login pool, or the one routing picked. */
    private Pool serverPool;
    /** The pool of the lease under way. */
    private Pool leasePool;
    /** The attached server is a replica picked for the statements held at the time. */
    private boolean onReplica;
    /** The last unnamed Parse, which an unnamed Bind runs. */
    private ClassifiedQuery unnamedQuery;
    /** Transaction pooling: decides where held work runs; null in session pooling. */
    private final RequestRouter requests;
    /** The routing counters of the attached server's node. */
    private NodeCounters serverCounters;
    private boolean retryScheduled;
    /** A replica read kept until answered, to run elsewhere if the replica drops it. */
    private final ReplicaReadReplay replicaRead = new ReplicaReadReplay();
    /** Created at the first failover this client lives through. */
    private FailoverWait failoverWait;

    ClientSession(SessionServices services, Channel channel, Pool pool, ServerConnection server, MessageFramer framer,
                  Map<String, String> leaseParameters, BackendCredentials credentials, SessionSettings settings) {
        super(services, channel, ClientState.ACTIVE);
        this.pool = pool;
        this.server = server;
        this.framer = framer;
        this.transactionPooling = settings != null;
        this.leaseParameters = leaseParameters;
        this.credentials = credentials;
        this.settings = settings;
        this.effects = settings == null ? null : new SessionEffects(settings);
        this.serverPool = pool;
        this.routing = transactionPooling ? new ClientRoutingState(
                services.consistency(pool.key().database(), pool.key().user())) : null;
        this.requests = transactionPooling ? new RequestRouter(services.router(), routing, settings, statements,
                services.maxMessageSize(), this::write) : null;
    }

    /**
     * Finishes the client's startup (ParameterStatus, pgrelay's own BackendKeyData,
     * ReadyForQuery) once the server has the client's settings, then handles what the client
     * sent early; takes ownership of {@code early}.
     */
    void start(ArrayDeque<ByteBuf> early) {
        cancelKey = services.cancels().register(this);
        held.addAll(early);
        early.clear();
        framer.inspect(transactionPooling ? TRANSACTION_INSPECTED : SESSION_INSPECTED);
        attach(server);
        if (pending.isEmpty()) {
            welcome();
        }
    }

    private void welcome() {
        welcomed = true;
        for (Map.Entry<String, String> p : server.parameterStatus().entrySet()) {
            write(new BackendMessage.ParameterStatus(p.getKey(), p.getValue()));
        }
        write(new BackendMessage.BackendKeyData(cancelKey.processId(), cancelKey.secretKey()));
        write(BackendMessage.ReadyForQuery.IDLE);
        channel.flush();
        replayHeld();
    }

    /** Links {@code s} to this client and, in transaction pooling, sends it the client's settings. */
    private void attach(ServerConnection s) {
        server = s;
        clientBytesSent = false;
        s.attach(this);
        serverCounters = services.router().counters().of(s.key().node().nodeName());
        serverCounters.leased();
        if (!transactionPooling) {
            return;
        }
        s.inspect(TRACKED_SERVER_TYPES);
        String sync = settings.syncQuery(s.sessionSettings());
        if (sync != null) {
            settings.applyTo(s.sessionSettings());
            // Everything the server says until this query's ReadyForQuery is pgrelay's alone.
            s.inspectAll();
            pending.add(PendingResponses.QUERY | PendingResponses.OWN, null);
            s.expectReadyForQuery();
            ByteBuf out = channel.alloc().buffer(sync.length() + 8);
            new FrontendMessage.Query(sync).encode(out);
            s.write(out);
            s.flush();
        }
        // A BEGIN pgrelay answered runs first, on the node its first statement chose.
        for (ByteBuf begin = requests.pollPreamble(); begin != null; begin = requests.pollPreamble()) {
            // The client already saw this BEGIN answered: a read inside it cannot be run again elsewhere.
            replicaRead.settle();
            pending.add(PendingResponses.QUERY | PendingResponses.OWN, null);
            s.expectReadyForQuery();
            s.write(begin);
            wroteToServer = true;
            clientBytesSent = true;
        }
    }

    /** Forgets the attached server (the caller releases or closes it). */
    private void detachServer() {
        server = null;
        if (serverCounters != null) {
            serverCounters.released();
            serverCounters = null;
        }
    }

    /** Feeds the bytes held while no server was attached, then lets the client be read again. */
    private void replayHeld() {
        while (!held.isEmpty() && server != null && welcomed && state == ClientState.ACTIVE) {
            ByteBuf next = held.poll();
            replicaRead.keep(next);
            feed(next);
        }
        flushToServer();
        if (state == ClientState.ACTIVE && (server == null || server.channel().isWritable())) {
            channel.config().setAutoRead(true);
        }
        releaseIfDone();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ByteBuf bytes) {
            onBytes(bytes);
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    private void onBytes(ByteBuf bytes) {
        meters.bytesIn(bytes.readableBytes());
        if (state != ClientState.ACTIVE) {
            bytes.release();
            return;
        }
        if (services.draining() && idleBetweenTransactions() && !isTerminate(bytes)) {
            // Sent after a shutdown began, by a client it found idle: new work is not started.
            bytes.release();
            fatal(SqlState.ADMIN_SHUTDOWN, "terminating connection due to administrator command");
            return;
        }
        if (server == null && held.isEmpty() && isTerminate(bytes)) {
            // Leaving between transactions: no server needs to hear of it.
            bytes.release();
            state = ClientState.CLOSED;
            channel.close();
            return;
        }
        if (server == null || !welcomed || !held.isEmpty() || (onReplica && !pending.isEmpty())) {
            held.add(bytes);
            channel.config().setAutoRead(false);
            if (server == null && !leasing) {
                lease();
            }
            return;
        }
        replicaRead.keep(bytes);
        feed(bytes);
    }

    private static boolean isTerminate(ByteBuf bytes) {
        return bytes.readableBytes() == 5 && bytes.getByte(bytes.readerIndex()) == 'X'
                && bytes.getInt(bytes.readerIndex() + 1) == 4;
    }

    private void feed(ByteBuf bytes) {
        try {
            framer.feed(bytes, this);
        } catch (WireException e) {
            fatal(e.sqlState(), e.getMessage());
            return;
        }
        if (terminateRequested && state == ClientState.ACTIVE) {
            flushToServer();
            state = ClientState.CLOSED;
            channel.close();
        }
    }

    private void lease() {
        leaseFrom(transactionPooling ? routeHeld() : pool);
    }

    private void leaseFrom(Pool target) {
        if (target == null) {
            return;
        }
        leasing = true;
        leasePool = target;
        leaseStartNanos = System.nanoTime();
        target.lease(leaseParameters, credentials).addListener(this::onLeased);
    }

    /**
     * The pool for the statements held now, as {@link RequestRouter} decides; null when there is
     * nothing to lease now (pgrelay answered, more bytes or a monitor sample are awaited, or the
     * client was failed because no primary is in service).
     */
    private Pool routeHeld() {
        onReplica = false;
        RequestRouter.Outcome outcome;
        try {
            outcome = requests.next(held, channel.alloc());
        } catch (RoutingException e) {
            if (services.router().view().topology().primary().isEmpty()) {
                awaitPrimary(null, primary -> lease());
            } else {
                fatal(e.sqlState(), e.getMessage());
            }
            return null;
        }
        switch (outcome) {
            case ROUTED -> {
                if (log.isDebugEnabled()) {
                    log.debug("client {}: {} on {}", channel.remoteAddress(), requests.reason(), requests.node().name());
                }
                onReplica = requests.replica();
                return poolFor(requests.node());
            }
            case RETRY_LATER -> {
                channel.flush();
                if (!retryScheduled) {
                    retryScheduled = true;
                    channel.eventLoop().schedule(this::retryRoute, 5, TimeUnit.MILLISECONDS);
                }
            }
            default -> {
                channel.flush();
                channel.config().setAutoRead(true);
            }
        }
        return null;
    }

    private void retryRoute() {
        retryScheduled = false;
        if (state == ClientState.ACTIVE && server == null && !leasing && !held.isEmpty()) {
            lease();
        }
    }

    /**
     * A failover is under way: waits for a primary (see {@link FailoverWait}), the held work
     * staying held, then {@code then}; fails the client at failover.wait_timeout.
     */
    private void awaitPrimary(String failedNode, Consumer<Node> then) {
        if (failoverWait == null) {
            failoverWait = FailoverWait.forClient(services, channel.eventLoop());
        }
        leasing = true;
        failoverWait.await(failedNode, () -> state == ClientState.ACTIVE, primary -> {
            leasing = false;
            then.accept(primary);
        }, message -> {
            leasing = false;
            fatal(SqlState.CONNECTION_FAILURE, message);
        });
    }

    private Pool poolFor(Node node) {
        PoolKey home = pool.key();
        ServerAddress address = new ServerAddress(node.name(), node.host(), node.port());
        return address.equals(home.node()) ? pool
                : services.pools().pool(channel.eventLoop(), new PoolKey(address, home.database(), home.user()));
    }

    /** Tells routing of a statement on its way to the server, so that it knows of the client's writes. */
    private void account(ClassifiedQuery q) {
        if (q == null) {
            return;
        }
        try {
            StatementRoute route = services.router().route(q, routing);
            // Counted under the reason its server was chosen for, unless routing would pick that node anyway.
            RouteReason leased = requests.reason();
            serverCounters.query(leased == null || route.node().name().equals(serverCounters.node()) ? route.reason()
                    : leased);
        } catch (RoutingException e) {
            // The server for it is already attached; only the bookkeeping is skipped.
        }
    }

    private void onLeased(Future<? super ServerConnection> lease) {
        leasing = false;
        meters.leaseDone(leaseStartNanos, System.nanoTime());
        Pool from = leasePool;
        if (!lease.isSuccess()) {
            if (state == ClientState.ACTIVE) {
                Throwable cause = lease.cause();
                if (FailoverWait.unreachable(cause)) {
                    retryElsewhere(from, cause);
                } else if (cause instanceof PoolException pe && pe.serverError() != null) {
                    closeWith(pe.serverError());
                } else if (cause instanceof PoolException pe) {
                    log.warn("no server connection for {}: {}", from.key(), pe.getMessage());
                    fatal(pe.sqlState(), pe.getMessage());
                } else {
                    fatal(SqlState.CONNECTION_FAILURE, "could not get a server connection: " + cause);
                }
            }
            return;
        }
        ServerConnection s = (ServerConnection) lease.getNow();
        if (state != ClientState.ACTIVE) {
            from.release(s);
            return;
        }
        if (failoverWait != null) {
            failoverWait.succeeded();
        }
        if (onReplica) {
            replicaRead.begin();
        }
        serverPool = from;
        attach(s);
        if (!welcomed) {
            if (pending.isEmpty()) {
                welcome();
            }
        } else {
            replayHeld();
        }
    }

    /**
     * Nothing held was sent, so the work may go elsewhere: a read meant for an unreachable replica
     * goes to the primary; work for an unreachable primary waits for the failover.
     */
    private void retryElsewhere(Pool failed, Throwable cause) {
        log.info("client {}: {}; {}", channel.remoteAddress(), cause.getMessage(),
                onReplica ? "sending the read to the primary" : "waiting for a primary");
        if (onReplica) {
            onReplica = false;
            awaitPrimary(null, primary -> leaseFrom(poolFor(primary)));
        } else {
            awaitPrimary(failed.key().node().nodeName(), primary -> lease());
        }
    }

    @Override
    public boolean onMessage(byte type, ByteBuf buf, int start, int length) {
        if (type == 'X') {
            terminateRequested = true;
            return false;
        }
        if (terminateRequested) {
            return false;
        }
        if ((type == 'Q' || type == 'S') && queryStartNanos == 0) {
            // Pipelined requests are timed from the first to its ReadyForQuery, then from the next one sent after.
            queryStartNanos = System.nanoTime();
        }
        if (!transactionPooling) {
            if (type == 'Q' || type == 'S' || type == 'F') {
                server.expectReadyForQuery();
            }
            return true;
        }
        if (type == 'S') {
            droppingUntilSync = false;
            serverSkippingUntilSync = false;
            batchOpen = false;
            server.expectReadyForQuery();
            pending.add(PendingResponses.SYNC, null);
            return true;
        }
        if (droppingUntilSync) {
            return false;
        }
        if (serverSkippingUntilSync) {
            // The server ignores it; nothing will answer it.
            return true;
        }
        return switch (type) {
            case 'Q' -> onQuery(buf, start, length);
            case 'F' -> {
                server.expectReadyForQuery();
                pending.add(PendingResponses.QUERY, null);
                yield true;
            }
            case 'P' -> onParse(buf, start, length);
            case 'B' -> onBind(buf, start, length);
            case 'D' -> onDescribe(buf, start, length);
            case 'E' -> {
                batchOpen = true;
                pending.add(PendingResponses.EXECUTE, null);
                yield true;
            }
            case 'C' -> onClose(buf, start, length);
            default -> {
                batchOpen = true;
                yield true;
            }
        };
    }

    private boolean onQuery(ByteBuf buf, int start, int length) {
        ClassifiedQuery query = SqlText.classify(services.router().classifier(), buf, start + 5, length - 6);
        SqlAnalysis analysis = query.analysis();
        if (RequestRouter.showsLastWriteLsn(analysis, buf, start + 5)) {
            addSynthetic(PendingResponses.SYNTHETIC_ROWS, requests.lastWriteLsnRows());
            return false;
        }
        List<SessionEffect> fx = analysis.effects();
        if (!fx.isEmpty()) {
            if (fx.size() == 1 && analysis.statements().size() == 1 && fx.get(0) instanceof SessionEffect.DeallocatePrepared d
                    && statements.remove(d.name()) != null) {
                // A protocol-level statement by name: pgrelay holds it, the server knows it by another name.
                addSynthetic(PendingResponses.SYNTHETIC_COMMAND, "DEALLOCATE");
                return false;
            }
            forgetStatementsIfDeallocated(fx);
        }
        sentEffects(fx, rollsBack(analysis));
        account(query);
        server.expectReadyForQuery();
        pending.add(PendingResponses.QUERY, null);
        return true;
    }

    /** DEALLOCATE ALL and DISCARD ALL drop every prepared statement on the server, pgrelay's own too. */
    private void forgetStatementsIfDeallocated(List<SessionEffect> fx) {
        for (SessionEffect e : fx) {
            if (e instanceof SessionEffect.DeallocateAll || e instanceof SessionEffect.DiscardAll) {
                statements.clear();
                server.prepared().clear();
            }
        }
    }

    private static boolean rollsBack(SqlAnalysis analysis) {
        for (StatementInfo s : analysis.statements()) {
            if (s.kind() == StatementKind.ROLLBACK) {
                return true;
            }
        }
        return false;
    }

    private void sentEffects(List<SessionEffect> fx, boolean rollsBack) {
        if (fx.isEmpty() && !rollsBack) {
            return;
        }
        effects.sent(fx, rollsBack);
        if (effects.pinReason() != null && !pinLogged) {
            pinLogged = true;
            log.info("client {} keeps server {} until it disconnects: {}", channel.remoteAddress(), server,
                    effects.pinReason());
        }
    }

    private boolean onParse(ByteBuf buf, int start, int length) {
        batchOpen = true;
        String name = ExtendedQuery.parseName(buf, start, length);
        if (name.isEmpty()) {
            int from = ExtendedQuery.queryStart(buf, start, length);
            unnamedQuery = SqlText.classify(services.router().classifier(), buf, from,
                    ExtendedQuery.queryEnd(buf, start, length) - from);
            pending.add(PendingResponses.PARSE, null);
            return true;
        }
        if (statements.containsKey(name)) {
            droppingUntilSync = true;
            addSynthetic(PendingResponses.SYNTHETIC_ERROR, BackendMessage.Errors.error(
                    SqlState.DUPLICATE_PREPARED_STATEMENT, "prepared statement \"" + name + "\" already exists"));
            return false;
        }
        byte[] body = ExtendedQuery.parseBody(buf, start, length);
        SqlAnalysis analysis = services.router().classifier().classify(body, 0, ExtendedQuery.queryLength(body))
                .analysis();
        ClientStatement statement = new ClientStatement(services.statementNames().nameFor(body), body,
                analysis.effects(), rollsBack(analysis));
        statements.put(name, statement);
        replicaRead.settle();
        ParseUndo undo = new ParseUndo(name, statement, null);
        if (server.prepared().contains(statement.serverName())) {
            addSynthetic(PendingResponses.SYNTHETIC_PARSE_COMPLETE, undo);
        } else {
            framer.forwardPreceding();
            prepareOnServer(statement, 0, name);
        }
        return false;
    }

    private boolean onBind(ByteBuf buf, int start, int length) {
        batchOpen = true;
        String name = ExtendedQuery.bindStatementName(buf, start, length);
        ClientStatement statement = name.isEmpty() ? null : statements.get(name);
        if (name.isEmpty() && unnamedQuery != null) {
            sentEffects(unnamedQuery.analysis().effects(), rollsBack(unnamedQuery.analysis()));
            account(unnamedQuery);
        } else if (statement != null) {
            sentEffects(statement.effects(), statement.rollsBack());
            account(requests.statementQuery(statement));
        }
        prepareForRewrite(statement);
        if (statement == null) {
            // Unnamed, or unknown: PostgreSQL answers with the client's own name.
            pending.add(PendingResponses.BIND, null);
            return true;
        }
        ByteBuf out = channel.alloc().buffer(length + 16);
        ExtendedQuery.writeBindRenamed(out, buf, start, length, statement.serverName());
        writeToServer(out);
        pending.add(PendingResponses.BIND, null);
        return false;
    }

    private boolean onDescribe(ByteBuf buf, int start, int length) {
        batchOpen = true;
        byte target = ExtendedQuery.target(buf, start);
        if (target != 'S') {
            pending.add(PendingResponses.DESCRIBE_PORTAL, null);
            return true;
        }
        String name = ExtendedQuery.targetName(buf, start, length);
        ClientStatement statement = name.isEmpty() ? null : statements.get(name);
        prepareForRewrite(statement);
        if (statement == null) {
            pending.add(PendingResponses.DESCRIBE_STATEMENT, null);
            return true;
        }
        ByteBuf out = channel.alloc().buffer(statement.serverName().length() + 8);
        ExtendedQuery.writeTargeted(out, 'D', target, statement.serverName());
        writeToServer(out);
        pending.add(PendingResponses.DESCRIBE_STATEMENT, null);
        return false;
    }

    private boolean onClose(ByteBuf buf, int start, int length) {
        batchOpen = true;
        byte target = ExtendedQuery.target(buf, start);
        String name = target == 'S' ? ExtendedQuery.targetName(buf, start, length) : "";
        if (name.isEmpty()) {
            pending.add(PendingResponses.CLOSE, null);
            return true;
        }
        // The server keeps the statement for other clients; for this one it is gone.
        statements.remove(name);
        addSynthetic(PendingResponses.SYNTHETIC_CLOSE_COMPLETE, null);
        return false;
    }

    /** Before a rewritten message: sends what preceded it and prepares its statement where missing. */
    private void prepareForRewrite(ClientStatement statement) {
        if (statement == null) {
            return;
        }
        framer.forwardPreceding();
        if (!server.prepared().contains(statement.serverName())) {
            prepareOnServer(statement, PendingResponses.OWN, null);
        }
    }

    /** Sends a Parse of {@code statement} under its server name, closing the least recently used one if full. */
    private void prepareOnServer(ClientStatement statement, int own, String clientName) {
        String evicted = server.prepared().add(statement.serverName());
        if (evicted != null) {
            ByteBuf close = channel.alloc().buffer(evicted.length() + 8);
            ExtendedQuery.writeTargeted(close, 'C', (byte) 'S', evicted);
            writeToServer(close);
            pending.add(PendingResponses.CLOSE | PendingResponses.OWN, null);
        }
        ByteBuf parse = channel.alloc().buffer(statement.body().length + statement.serverName().length() + 8);
        ExtendedQuery.writeParse(parse, statement.serverName(), statement.body());
        writeToServer(parse);
        pending.add(PendingResponses.PARSE | own, new ParseUndo(clientName, statement, statement.serverName()));
    }

    private void addSynthetic(int kind, Object payload) {
        boolean answerNow = pending.isEmpty();
        pending.add(kind, payload);
        if (answerNow) {
            emitSynthetic();
            channel.flush();
        }
    }

    /** Sends pgrelay's own answers that are next in line. */
    private void emitSynthetic() {
        while (!pending.isEmpty() && PendingResponses.synthetic(pending.headKind())) {
            int kind = pending.headKind();
            Object payload = pending.headPayload();
            pending.removeHead();
            switch (kind) {
                case PendingResponses.SYNTHETIC_PARSE_COMPLETE -> write(BackendMessage.ParseComplete.INSTANCE);
                case PendingResponses.SYNTHETIC_CLOSE_COMPLETE -> write(BackendMessage.CloseComplete.INSTANCE);
                case PendingResponses.SYNTHETIC_COMMAND -> {
                    write(new BackendMessage.CommandComplete((String) payload));
                    write(new BackendMessage.ReadyForQuery(server != null ? server.transactionStatus() : TransactionStatus.IDLE));
                }
                case PendingResponses.SYNTHETIC_ROWS -> {
                    ((List<?>) payload).forEach(m -> write((BackendMessage) m));
                    write(new BackendMessage.ReadyForQuery(server != null ? server.transactionStatus() : TransactionStatus.IDLE));
                }
                default -> write((ErrorResponse) payload);
            }
        }
    }

    private void writeToServer(ByteBuf bytes) {
        server.write(bytes);
        wroteToServer = true;
        clientBytesSent = true;
    }

    @Override
    public void forward(ByteBuf bytes) {
        if (state == ClientState.ACTIVE && server != null) {
            server.write(bytes);
            wroteToServer = true;
            clientBytesSent = true;
        } else {
            bytes.release();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        flushToServer();
        if (server != null && !server.channel().isWritable()) {
            channel.config().setAutoRead(false);
        }
        ctx.fireChannelReadComplete();
    }

    private void flushToServer() {
        if (wroteToServer && server != null) {
            wroteToServer = false;
            unusedServersLost = 0;
            server.flush();
        }
    }

    @Override
    public void onServerBytes(ByteBuf bytes) {
        replicaRead.settle();
        meters.bytesOut(bytes.readableBytes());
        channel.write(bytes, channel.voidPromise());
    }

    @Override
    public boolean onServerMessage(byte type, ByteBuf buf, int start, int length) {
        ErrorResponse error = null;
        if (type == 'E') {
            error = (ErrorResponse) BackendMessage.decode(buf, start, length);
            if (error.isFatal() && replicaRead.replayable()) {
                // The replica dropped the read unanswered: it runs elsewhere once the connection closes.
                log.info("client {}: replica {} ended the connection before answering ({}); the read runs again",
                        channel.remoteAddress(), server, error.message());
                return false;
            }
            if (error.isFatal() && lostBeforeUse()) {
                // A pooled connection whose backend ended (e.g. pg_terminate_backend) before pgrelay
                // saw it: the client never reached it, so another connection serves it when it closes.
                log.info("client {}: server {} ended before any of the client's messages reached it ({}); using another",
                        channel.remoteAddress(), server, error.message());
                return false;
            }
            serverFatalSeen |= error.isFatal();
        } else if (type == 'Z' && services.draining()) {
            closeWhenIdle = true;
        }
        if (!transactionPooling || pending.isEmpty()) {
            replicaRead.settle();
            if (type == 'Z') {
                queryDone();
            }
            return true;
        }
        int kind = pending.headKind();
        boolean own = (kind & PendingResponses.OWN) != 0;
        if (!own) {
            // pgrelay's own settings query may be answered; the client's read not yet.
            replicaRead.settle();
        }
        int request = kind & ~PendingResponses.OWN;
        if (error != null) {
            if (!own) {
                effects.error();
            }
            return onServerError(error, request, own);
        }
        if (type == 'Z' && !own) {
            char status = (char) buf.getByte(start + 5);
            routing.readyForQuery(status, System.nanoTime());
            if (status == 'I') {
                serverCounters.transaction();
            }
            queryDone();
        }
        if (type == 'Z' && !own && effects.readyForQuery(TransactionStatus.of(buf.getByte(start + 5)))) {
            // The server ran the client's SETs: it now has the client's settings.
            settings.applyTo(server.sessionSettings());
        }
        boolean ends = switch (type) {
            case '1' -> request == PendingResponses.PARSE;
            case '2' -> request == PendingResponses.BIND;
            case '3' -> request == PendingResponses.CLOSE;
            case 'T', 'n' -> request == PendingResponses.DESCRIBE_STATEMENT || request == PendingResponses.DESCRIBE_PORTAL;
            case 'C', 'I', 's' -> request == PendingResponses.EXECUTE;
            case 'Z' -> request == PendingResponses.SYNC || request == PendingResponses.QUERY;
            default -> false;
        };
        if (!ends) {
            return !own;
        }
        pending.removeHead();
        if (own && request == PendingResponses.QUERY) {
            settingsApplied();
        }
        if (!pending.isEmpty() && PendingResponses.synthetic(pending.headKind())) {
            // pgrelay's own answers go right after this message, before anything behind it.
            server.forwardPreceding();
            if (!own) {
                meters.bytesOut(length);
                channel.write(buf.retainedSlice(start, length), channel.voidPromise());
            }
            emitSynthetic();
            return false;
        }
        return !own;
    }

    /** A ReadyForQuery for the client: ends the timed Query or Sync, if one is timed. */
    private void queryDone() {
        if (queryStartNanos != 0) {
            meters.queryDone(queryStartNanos, System.nanoTime());
            queryStartNanos = 0;
        }
    }

    /** The answer to pgrelay's settings query is complete. */
    private void settingsApplied() {
        server.inspect(TRACKED_SERVER_TYPES);
        if (!welcomed) {
            welcomeDue = true;
        }
    }

    private boolean onServerError(ErrorResponse error, int request, boolean own) {
        if (request == PendingResponses.QUERY) {
            if (own) {
                settingsError = error;
                return false;
            }
            return true;
        }
        if (request == PendingResponses.SYNC) {
            return true;
        }
        // An extended-query request failed: the server skips everything up to the next Sync.
        undo(pending.headPayload());
        pending.removeHead();
        while (!pending.isEmpty() && (pending.headKind() & ~PendingResponses.OWN) != PendingResponses.SYNC) {
            undo(pending.headPayload());
            pending.removeHead();
        }
        if (pending.isEmpty()) {
            serverSkippingUntilSync = true;
        }
        return true;
    }

    /** A Parse that did not happen: forget what it would have created. */
    private void undo(Object payload) {
        if (payload instanceof ParseUndo u) {
            if (u.clientName() != null && statements.get(u.clientName()) == u.statement()) {
                statements.remove(u.clientName());
            }
            if (u.serverName() != null && server != null) {
                server.prepared().remove(u.serverName());
            }
        }
    }

    @Override
    public void onServerReadComplete() {
        if (settingsError != null) {
            ErrorResponse e = settingsError;
            ServerConnection s = server;
            detachServer();
            s.close();
            log.warn("could not apply the settings of client {} on server {}: {}", channel.remoteAddress(), s, e.message());
            fatal(SqlState.CONNECTION_FAILURE, "pgrelay could not apply this session's settings on a server connection: "
                    + e.message());
            return;
        }
        if (welcomeDue) {
            welcomeDue = false;
            welcome();
        }
        channel.flush();
        if (closeWhenIdle && idleBetweenTransactions()) {
            fatal(SqlState.ADMIN_SHUTDOWN, "terminating connection due to administrator command");
            return;
        }
        releaseIfDone();
        if (!held.isEmpty() && state == ClientState.ACTIVE && welcomed) {
            // Work that waited for the replica to finish: route it afresh, or go on where a
            // transaction keeps the server.
            if (server == null) {
                if (!leasing) {
                    lease();
                }
            } else if (pending.isEmpty()) {
                replayHeld();
            }
        }
        if (server != null && !channel.isWritable()) {
            server.channel().config().setAutoRead(false);
        }
    }

    /** In transaction pooling: gives the server back once the client's transaction and batch are over. */
    private void releaseIfDone() {
        if (!transactionPooling || server == null || state != ClientState.ACTIVE || !welcomed || batchOpen
                || effects.pinReason() != null
                || !pending.isEmpty() || server.busy() || server.transactionStatus() != TransactionStatus.IDLE
                || !framer.atMessageBoundary()) {
            return;
        }
        ServerConnection s = server;
        flushToServer();
        detachServer();
        onReplica = false;
        serverPool.release(s);
    }

    @Override
    public void onServerWritabilityChanged(boolean writable) {
        if (writable && state == ClientState.ACTIVE) {
            channel.config().setAutoRead(true);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (channel.isWritable() && server != null) {
            server.channel().config().setAutoRead(true);
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void onServerClosed(ServerConnection closed) {
        if (closed != server) {
            return;
        }
        detachServer();
        channel.flush();
        if (state != ClientState.ACTIVE) {
            return;
        }
        if (lostBeforeUse()) {
            leaseAnotherServer();
        } else if (replicaRead.replayable()) {
            replayElsewhere(closed);
        } else if (serverFatalSeen) {
            // PostgreSQL already told the client why (e.g. pg_terminate_backend's FATAL).
            state = ClientState.CLOSED;
            channel.close();
        } else {
            fatal(SqlState.CONNECTION_FAILURE, "server connection to " + closed.key().node() + " was lost");
        }
    }

    /** In transaction pooling, the attached server can still be swapped for another unnoticed. */
    private boolean lostBeforeUse() {
        return transactionPooling && !clientBytesSent && unusedServersLost < MAX_UNUSED_SERVERS_LOST;
    }

    /** Leases again from the same pool; what the lost server was sent was pgrelay's own. */
    private void leaseAnotherServer() {
        unusedServersLost++;
        forgetLostServer();
        leaseFrom(serverPool);
    }

    /**
     * Drops what was owed by a server lost before it answered, so that the held work starts
     * afresh on another one; the client is not read meanwhile.
     */
    private void forgetLostServer() {
        pending.clear();
        batchOpen = false;
        droppingUntilSync = false;
        serverSkippingUntilSync = false;
        wroteToServer = false;
        channel.config().setAutoRead(false);
    }

    /** Runs a replica read the replica dropped unanswered again, on the primary, as if it had just arrived. */
    private void replayElsewhere(ServerConnection closed) {
        log.info("client {}: the connection to {} closed before the read was answered; sending it to the primary",
                channel.remoteAddress(), closed.key().node());
        replicaRead.restoreInto(held);
        forgetLostServer();
        onReplica = false;
        awaitPrimary(null, primary -> leaseFrom(poolFor(primary)));
    }

    @Override
    public void cancelRunningQuery() {
        channel.eventLoop().execute(() -> {
            if (server != null && server.busy()) {
                services.cancels().send(cancelTarget(server));
            }
        });
    }

    private static CancelRegistry.Target cancelTarget(ServerConnection s) {
        return new CancelRegistry.Target(s.key().node(), s.processId(), s.secretKey());
    }

    @Override
    public void drain() {
        channel.eventLoop().execute(() -> {
            if (state != ClientState.ACTIVE) {
                return;
            }
            if (idleBetweenTransactions()) {
                fatal(SqlState.ADMIN_SHUTDOWN, "terminating connection due to administrator command");
            } else {
                closeWhenIdle = true;
            }
        });
    }

    private boolean idleBetweenTransactions() {
        if (server == null) {
            // A BEGIN pgrelay answered: the client is in a transaction that has not reached a server yet.
            return routing == null || !routing.inTransaction();
        }
        return !server.busy() && server.transactionStatus() == TransactionStatus.IDLE;
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        state = ClientState.CLOSED;
        services.clients().remove(this);
        services.cancels().unregister(cancelKey);
        framer.release();
        replicaRead.settle();
        held.forEach(ByteBuf::release);
        held.clear();
        pending.clear();
        if (requests != null) {
            requests.release();
        }
        ServerConnection s = server;
        detachServer();
        if (s != null) {
            if (s.busy()) {
                // The client left mid-query: stop the query rather than let it run for no one.
                serverPool.releaseWhenIdle(s, () -> services.cancels().send(cancelTarget(s)));
            } else if (effects != null && effects.pinReason() != null) {
                serverPool.releaseAfterReset(s);
            } else {
                serverPool.release(s);
            }
        }
        ctx.fireChannelInactive();
    }

    /** What a Parse would have created, to forget if it fails or the server skips it. */
    private record ParseUndo(String clientName, ClientStatement statement, String serverName) {
    }

    // ---- for the admin views (kept at the end of the class for easier merges); call on the loop

    /** Why this client keeps its server until it disconnects (transaction pooling), or null. */
    public String pinReason() {
        return effects == null ? null : effects.pinReason();
    }

    /** True while the client has asked for a server and waits for the pool. */
    public boolean waitingForServer() {
        return leasing;
    }

    /** The server connection attached to this client now, or null. */
    public ServerConnection server() {
        return server;
    }
}
