package io.pgrelay.server.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
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
import io.pgrelay.router.FailoverTopologyView;
import io.pgrelay.router.RouteTarget;
import io.pgrelay.router.RoutingException;
import io.pgrelay.router.classify.ClassifiedQuery;
import io.pgrelay.router.policy.ClientRoutingState;
import io.pgrelay.router.policy.StatementRoute;
import io.pgrelay.router.sql.SessionEffect;
import io.pgrelay.router.sql.SqlAnalysis;
import io.pgrelay.router.sql.StatementInfo;
import io.pgrelay.router.sql.StatementKind;
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
 * statements it has sent are classified and routed ({@link #routeHeld()}). A replica gets them
 * only if they are all replica-safe and end a request (Sync or Query), and while it answers them
 * nothing more is sent to it: later work is routed afresh, so a write never reaches a standby.
 * An explicit transaction starts with BEGIN, which runs on the primary, and keeps that server
 * until ReadyForQuery {@code I}.
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
        this.routing = transactionPooling ? new ClientRoutingState(services.consistency()) : null;
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
        s.attach(this);
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
    }

    /** Feeds the bytes held while no server was attached, then lets the client be read again. */
    private void replayHeld() {
        while (!held.isEmpty() && server != null && welcomed && state == ClientState.ACTIVE) {
            feed(held.poll());
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
        Pool target = transactionPooling ? routeHeld() : pool;
        if (target == null) {
            return;
        }
        leasing = true;
        leasePool = target;
        leaseStartNanos = System.nanoTime();
        target.lease(leaseParameters, credentials).addListener(this::onLeased);
    }

    /**
     * The pool for the statements held now: a replica's when routing sends them there and they
     * form whole requests, else the current primary's. Null after failing the client (no primary).
     */
    private Pool routeHeld() {
        onReplica = false;
        HeldWork work = scanHeld();
        try {
            StatementRoute route = work.query() == null ? null : services.router().route(work.query(), routing);
            log.debug("client {}: {} (held messages are whole requests: {})", channel.remoteAddress(), route,
                    work.complete());
            if (route != null && (route.target() == RouteTarget.PRIMARY || work.complete())) {
                onReplica = route.target() == RouteTarget.REPLICA;
                return poolFor(((FailoverTopologyView.RoutedNode) route.node()).node());
            }
            return poolFor(services.router().routeSession().node());
        } catch (RoutingException e) {
            fatal(e.sqlState(), e.getMessage());
            return null;
        }
    }

    private Pool poolFor(Node node) {
        PoolKey home = pool.key();
        ServerAddress address = new ServerAddress(node.name(), node.host(), node.port());
        return address.equals(home.node()) ? pool
                : services.pools().pool(channel.eventLoop(), new PoolKey(address, home.database(), home.user()));
    }

    /**
     * Classifies the statements in the complete messages held: Query and Parse texts, and the text
     * of a named statement a Bind runs. The one routed is the first that needs the primary, else
     * the first; a function call or COPY data sends everything to the primary.
     */
    private HeldWork scanHeld() {
        ByteBuf all = held.size() == 1 ? held.peek()
                : Unpooled.wrappedBuffer(held.stream().map(ByteBuf::retainedDuplicate).toArray(ByteBuf[]::new));
        try {
            ClassifiedQuery first = null;
            ClassifiedQuery primary = null;
            boolean primaryOnly = false;
            byte last = 0;
            int i = all.readerIndex();
            int end = all.writerIndex();
            while (end - i >= 5) {
                byte type = all.getByte(i);
                int length = all.getInt(i + 1) + 1;
                if (length < 5 || end - i < length) {
                    break;
                }
                ClassifiedQuery q = switch (type) {
                    case 'Q' -> SqlText.classify(services.router().classifier(), all, i + 5, length - 6);
                    case 'P' -> {
                        int from = ExtendedQuery.queryStart(all, i, length);
                        yield SqlText.classify(services.router().classifier(), all, from,
                                ExtendedQuery.queryEnd(all, i, length) - from);
                    }
                    case 'B' -> statementQuery(statements.get(ExtendedQuery.bindStatementName(all, i, length)));
                    default -> null;
                };
                primaryOnly |= type == 'F' || type == 'd' || type == 'c' || type == 'f';
                if (q != null) {
                    first = first == null ? q : first;
                    primary = primary == null && !q.replicaSafe() ? q : primary;
                }
                last = type;
                i += length;
            }
            boolean complete = i == end && (last == 'S' || last == 'Q') && !primaryOnly;
            return new HeldWork(primary != null ? primary : first, complete);
        } finally {
            if (all != held.peek()) {
                all.release();
            }
        }
    }

    private ClassifiedQuery statementQuery(ClientStatement statement) {
        return statement == null ? null : services.router().classifier().classify(statement.body(), 0,
                ExtendedQuery.queryLength(statement.body()));
    }

    /** Tells routing of a statement on its way to the server, so that it knows of the client's writes. */
    private void account(ClassifiedQuery q) {
        if (q == null) {
            return;
        }
        try {
            services.router().route(q, routing);
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
                if (cause instanceof PoolException pe && pe.serverError() != null) {
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
        serverPool = from;
        attach(s);
        replayHeld();
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
            account(statementQuery(statement));
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
                default -> write((ErrorResponse) payload);
            }
        }
    }

    private void writeToServer(ByteBuf bytes) {
        server.write(bytes);
        wroteToServer = true;
    }

    @Override
    public void forward(ByteBuf bytes) {
        if (state == ClientState.ACTIVE && server != null) {
            server.write(bytes);
            wroteToServer = true;
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
            server.flush();
        }
    }

    @Override
    public void onServerBytes(ByteBuf bytes) {
        meters.bytesOut(bytes.readableBytes());
        channel.write(bytes, channel.voidPromise());
    }

    @Override
    public boolean onServerMessage(byte type, ByteBuf buf, int start, int length) {
        ErrorResponse error = null;
        if (type == 'E') {
            error = (ErrorResponse) BackendMessage.decode(buf, start, length);
            serverFatalSeen |= error.isFatal();
        } else if (type == 'Z' && services.draining()) {
            closeWhenIdle = true;
        }
        if (!transactionPooling || pending.isEmpty()) {
            if (type == 'Z') {
                queryDone();
            }
            return true;
        }
        int kind = pending.headKind();
        boolean own = (kind & PendingResponses.OWN) != 0;
        int request = kind & ~PendingResponses.OWN;
        if (error != null) {
            if (!own) {
                effects.error();
            }
            return onServerError(error, request, own);
        }
        if (type == 'Z' && !own) {
            routing.readyForQuery((char) buf.getByte(start + 5), System.nanoTime());
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
            server = null;
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
        server = null;
        onReplica = false;
        flushToServer();
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
        server = null;
        channel.flush();
        if (state != ClientState.ACTIVE) {
            return;
        }
        if (serverFatalSeen) {
            // PostgreSQL already told the client why (e.g. pg_terminate_backend's FATAL).
            state = ClientState.CLOSED;
            channel.close();
        } else {
            fatal(SqlState.CONNECTION_FAILURE, "server connection to " + closed.key().node() + " was lost");
        }
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
        return server == null || (!server.busy() && server.transactionStatus() == TransactionStatus.IDLE);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        state = ClientState.CLOSED;
        services.clients().remove(this);
        services.cancels().unregister(cancelKey);
        framer.release();
        held.forEach(ByteBuf::release);
        held.clear();
        pending.clear();
        ServerConnection s = server;
        server = null;
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

    /** The statement that decides where held work runs, and whether the work is whole requests. */
    private record HeldWork(ClassifiedQuery query, boolean complete) {
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
