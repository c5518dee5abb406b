package io.pgrelay.server.session;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import io.pgrelay.failover.Node;
import io.pgrelay.pool.Pool;
import io.pgrelay.pool.PoolException;
import io.pgrelay.pool.PoolKey;
import io.pgrelay.pool.ServerAddress;
import io.pgrelay.pool.ServerConnection;
import io.pgrelay.router.RoutingException;
import io.pgrelay.server.admin.AdminConsole;
import io.pgrelay.server.auth.AuthExchange;
import io.pgrelay.wire.SqlState;
import io.pgrelay.wire.WireException;
import io.pgrelay.wire.codec.MessageFramer;
import io.pgrelay.wire.message.backend.BackendMessage;
import io.pgrelay.wire.message.frontend.StartupPacket;
import io.pgrelay.wire.message.frontend.StartupPacket.StartupMessage;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The first phase of a client connection: startup packets, authentication by pgrelay itself
 * within startup_timeout, and the lease of a server connection. On success it replaces itself in
 * the pipeline with a {@link ClientSession}.
 *
 * @see <a href="https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-START-UP">Start-up</a>
 */
public final class ClientLogin extends ClientHandler implements MessageFramer.Sink {
    private static final Logger log = LoggerFactory.getLogger(ClientLogin.class);

    private final ArrayDeque<ByteBuf> heldBack = new ArrayDeque<>();
    private MessageFramer framer;
    private StartupMessage startup;
    private AuthExchange auth;
    private Pool pool;
    private Map<String, String> leaseParameters;
    private SessionSettings settings;
    private ScheduledFuture<?> startupTimer;
    private FailoverWait failoverWait;

    public ClientLogin(SessionServices services) {
        super(services, null, ClientState.STARTUP);
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        services.clients().add(this);
        long timeout = services.startupTimeout().toMillis();
        startupTimer = channel.eventLoop().schedule(() -> {
            if (state == ClientState.STARTUP || state == ClientState.AUTHENTICATING) {
                fatal(SqlState.PROTOCOL_VIOLATION, "startup did not finish within startup_timeout " + timeout + "ms");
            }
        }, timeout, TimeUnit.MILLISECONDS);
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof StartupPacket packet) {
            onStartupPacket(packet);
        } else if (msg instanceof ByteBuf bytes) {
            onBytes(bytes);
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    private void onBytes(ByteBuf bytes) {
        switch (state) {
            case AUTHENTICATING -> {
                try {
                    framer.feed(bytes, this);
                } catch (WireException e) {
                    fatal(e.sqlState(), e.getMessage());
                    return;
                }
                if (state == ClientState.AUTHENTICATING && auth.done()) {
                    authenticated();
                }
            }
            case WAITING_FOR_SERVER -> heldBack.add(bytes);
            default -> bytes.release();
        }
    }

    private void onStartupPacket(StartupPacket packet) {
        if (state != ClientState.STARTUP) {
            fatal(SqlState.PROTOCOL_VIOLATION, "unexpected startup packet after startup");
            return;
        }
        switch (packet) {
            case StartupPacket.SslRequest ssl -> writeByteAndFlush('N');
            case StartupPacket.GssEncRequest gss -> writeByteAndFlush('N');
            case StartupPacket.CancelRequest cancel -> {
                services.cancels().cancel(cancel);
                state = ClientState.CLOSED;
                channel.close();
            }
            case StartupMessage message -> onStartupMessage(message);
        }
    }

    private void onStartupMessage(StartupMessage message) {
        if (message.majorVersion() != 3) {
            fatal(SqlState.FEATURE_NOT_SUPPORTED, "unsupported frontend protocol " + message.majorVersion() + "."
                    + message.minorVersion() + ": server supports 3.0 to 3.0");
            return;
        }
        if (message.user() == null || message.user().isEmpty()) {
            fatal(SqlState.INVALID_AUTHORIZATION_SPECIFICATION, "no PostgreSQL user name specified in startup packet");
            return;
        }
        if (services.clients().size() > services.maxClientConnections()) {
            fatal(SqlState.TOO_MANY_CONNECTIONS, "no more connections allowed: max_client_conn "
                    + services.maxClientConnections() + " reached");
            return;
        }
        String replication = message.parameters().get("replication");
        if (replication != null && !List.of("false", "off", "no", "0").contains(replication.toLowerCase())) {
            fatal(SqlState.FEATURE_NOT_SUPPORTED, "pgrelay does not pool replication connections; connect to the server directly");
            return;
        }
        startup = message;
        identify(message.user(), message.database());
        List<String> unrecognized = message.parameters().keySet().stream().filter(k -> k.startsWith("_pq_.")).toList();
        if (message.minorVersion() > 0 || !unrecognized.isEmpty()) {
            write(new BackendMessage.NegotiateProtocolVersion(0, unrecognized));
        }
        state = ClientState.AUTHENTICATING;
        framer = MessageFramer.inspectingAll(services.maxMessageSize());
        auth = new AuthExchange(services.auth(), message.user());
        BackendMessage request;
        try {
            request = auth.start(((InetSocketAddress) channel.remoteAddress()).getAddress(), message.database());
        } catch (WireException e) {
            authFailed(e);
            return;
        }
        if (request == null) {
            authenticated();
        } else {
            write(request);
            channel.flush();
        }
    }

    @Override
    public boolean onMessage(byte type, ByteBuf buf, int start, int length) {
        if (auth.done()) {
            // Sent right behind the last password message: keep it for the server.
            heldBack.add(buf.retainedSlice(start, length));
            return false;
        }
        if (type != 'p') {
            throw new WireException(SqlState.PROTOCOL_VIOLATION,
                    "expected password response, got message type " + (char) type);
        }
        try {
            BackendMessage next = auth.onPasswordMessage(buf, start, length);
            if (next != null) {
                write(next);
                channel.flush();
            }
        } catch (WireException e) {
            authFailed(e);
        }
        return false;
    }

    @Override
    public void forward(ByteBuf bytes) {
        // Every message is inspected while logging in, so nothing is forwarded.
        bytes.release();
    }

    private void authFailed(WireException e) {
        log.info("authentication failed for user \"{}\" from {}: {}", startup.user(), channel.remoteAddress(), e.getMessage());
        services.stats().authFailed();
        fatal(e.sqlState(), e.getMessage());
    }

    /** The client proved who it is: lease a server connection for it. */
    private void authenticated() {
        state = ClientState.WAITING_FOR_SERVER;
        startupTimer.cancel(false);
        write(BackendMessage.AuthenticationOk.INSTANCE);
        services.stats().loggedIn(startup.database(), startup.user());
        if (AdminConsole.DATABASE.equals(startup.database())) {
            // The virtual database: no server, the console answers; it owns framer and heldBack now.
            AdminConsole.takeOver(services, this, framer, heldBack);
            return;
        }
        leaseOnPrimary();
    }

    /**
     * Leases on the primary in service. Without one (a failover), a transaction-pooled login
     * opens on a standby, since its work is routed statement by statement anyway; a
     * session-pooled one waits for a primary.
     */
    private void leaseOnPrimary() {
        try {
            pool = poolOn(services.router().routeSession().node());
        } catch (RoutingException e) {
            pool = services.router().view().topology().usableReplicas().stream().filter(Node::discovered)
                    .map(this::poolOn).filter(p -> p.settings().transactionPooling()).findFirst().orElse(null);
            if (pool == null) {
                awaitPrimary(null);
                return;
            }
        }
        leaseParameters = serverParameters(startup);
        if (pool.settings().transactionPooling()) {
            try {
                settings = SessionSettings.fromStartup(startup.parameters());
            } catch (WireException e) {
                fatal(e.sqlState(), e.getMessage());
                return;
            }
            // Servers are shared: each is opened plain and given a client's settings per lease.
            leaseParameters = Map.of();
        }
        pool.lease(leaseParameters, auth.credentials()).addListener(this::onLeased);
    }

    private Pool poolOn(Node node) {
        return services.pools().pool(channel.eventLoop(), new PoolKey(new ServerAddress(node.name(), node.host(),
                node.port()), startup.database(), startup.user()));
    }

    /** The client's startup parameters that the server connection must be opened with. */
    private static Map<String, String> serverParameters(StartupMessage startup) {
        Map<String, String> params = new LinkedHashMap<>(startup.parameters());
        params.keySet().removeIf(k -> k.equals("user") || k.equals("database") || k.equals("replication") || k.startsWith("_pq_."));
        return params;
    }

    private void onLeased(Future<? super ServerConnection> lease) {
        if (!lease.isSuccess()) {
            if (state == ClientState.WAITING_FOR_SERVER) {
                leaseFailed(lease.cause());
            }
            return;
        }
        ServerConnection server = (ServerConnection) lease.getNow();
        if (state != ClientState.WAITING_FOR_SERVER) {
            pool.release(server);
            return;
        }
        state = ClientState.ACTIVE;
        ClientSession session = new ClientSession(services, channel, pool, server, framer, leaseParameters,
                auth.credentials(), settings);
        services.clients().remove(this);
        services.clients().add(session);
        channel.pipeline().replace(this, "session", session);
        session.start(heldBack);
    }

    /** Waits up to failover.wait_timeout for a primary (other than {@code failedNode}, or that one alive again). */
    private void awaitPrimary(String failedNode) {
        if (failoverWait == null) {
            failoverWait = FailoverWait.forClient(services, channel.eventLoop());
        }
        failoverWait.await(failedNode, () -> state == ClientState.WAITING_FOR_SERVER, primary -> leaseOnPrimary(),
                message -> fatal(FailoverWait.CANNOT_CONNECT_NOW, message));
    }

    private void leaseFailed(Throwable cause) {
        if (FailoverWait.unreachable(cause)) {
            log.info("server {} unreachable for user \"{}\": {}; waiting for a primary", pool.key().node(),
                    startup.user(), cause.getMessage());
            awaitPrimary(pool.key().node().nodeName());
        } else if (cause instanceof PoolException pe && pe.serverError() != null) {
            log.info("server refused user \"{}\" database \"{}\": {}", startup.user(), startup.database(), pe.getMessage());
            closeWith(pe.serverError());
        } else if (cause instanceof PoolException pe) {
            log.warn("no server connection for {}: {}", pool.key(), pe.getMessage());
            fatal(pe.sqlState(), pe.getMessage());
        } else {
            log.error("unexpected error leasing a server connection for {}", pool.key(), cause);
            fatal(SqlState.CONNECTION_FAILURE, "could not get a server connection: " + cause);
        }
    }

    @Override
    public void drain() {
        // Not yet in a transaction: a login in progress ends now.
        channel.eventLoop().execute(() -> fatal(SqlState.ADMIN_SHUTDOWN, "terminating connection due to administrator command"));
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        state = ClientState.CLOSED;
        services.clients().remove(this);
        if (startupTimer != null) {
            startupTimer.cancel(false);
        }
        if (framer != null) {
            framer.release();
        }
        heldBack.forEach(ByteBuf::release);
        heldBack.clear();
        ctx.fireChannelInactive();
    }

    private void writeByteAndFlush(char b) {
        channel.writeAndFlush(channel.alloc().buffer(1).writeByte(b), channel.voidPromise());
    }
}
