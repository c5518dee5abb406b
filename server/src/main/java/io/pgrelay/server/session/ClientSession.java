package io.pgrelay.server.session;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.ScheduledFuture;
import io.pgrelay.failover.Node;
import io.pgrelay.pool.Pool;
import io.pgrelay.pool.PoolException;
import io.pgrelay.pool.PoolKey;
import io.pgrelay.pool.ServerAddress;
import io.pgrelay.pool.ServerConnection;
import io.pgrelay.pool.ServerListener;
import io.pgrelay.router.RoutingException;
import io.pgrelay.server.auth.AuthExchange;
import io.pgrelay.server.cancel.CancelRegistry;
import io.pgrelay.wire.SqlState;
import io.pgrelay.wire.WireException;
import io.pgrelay.wire.codec.MessageFramer;
import io.pgrelay.wire.message.backend.BackendMessage;
import io.pgrelay.wire.message.backend.BackendMessage.ErrorResponse;
import io.pgrelay.wire.message.backend.TransactionStatus;
import io.pgrelay.wire.message.frontend.StartupPacket;
import io.pgrelay.wire.message.frontend.StartupPacket.StartupMessage;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection: startup, authentication by pgrelay itself, then proxying between the
 * client and the server connection leased for it. Runs on the client channel's event loop, which
 * also serves the server connection, so its state needs no locks.
 */
public final class ClientSession extends ChannelInboundHandlerAdapter
        implements MessageFramer.Sink, ServerListener, CancelRegistry.Cancellable {
    private static final Logger log = LoggerFactory.getLogger(ClientSession.class);
    /** Watched client messages: the ones answered by ReadyForQuery, and Terminate. */
    private static final String ACTIVE_INSPECTED = "QSFX";

    private final SessionServices services;
    private final ArrayDeque<ByteBuf> heldBack = new ArrayDeque<>();
    private Channel channel;
    private ClientState state = ClientState.STARTUP;
    private MessageFramer framer;
    private StartupMessage startup;
    private AuthExchange auth;
    private Pool pool;
    private ServerConnection server;
    private CancelRegistry.Key cancelKey;
    private ScheduledFuture<?> startupTimer;
    private boolean wroteToServer;
    private boolean terminateRequested;
    private boolean serverFatalSeen;
    private boolean closeWhenIdle;

    public ClientSession(SessionServices services) {
        this.services = services;
    }

    public ClientState state() {
        return state;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        channel = ctx.channel();
        services.sessions().add(this);
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
            case AUTHENTICATING, ACTIVE -> {
                try {
                    framer.feed(bytes, this);
                } catch (WireException e) {
                    fatal(e.sqlState(), e.getMessage());
                    return;
                }
                if (state == ClientState.AUTHENTICATING && auth.done()) {
                    authenticated();
                }
                if (terminateRequested) {
                    flushToServer();
                    channel.close();
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
        String replication = message.parameters().get("replication");
        if (replication != null && !List.of("false", "off", "no", "0").contains(replication.toLowerCase())) {
            fatal(SqlState.FEATURE_NOT_SUPPORTED, "pgrelay does not pool replication connections; connect to the server directly");
            return;
        }
        startup = message;
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
        if (state == ClientState.ACTIVE) {
            switch (type) {
                case 'X' -> {
                    terminateRequested = true;
                    return false;
                }
                case 'Q', 'S', 'F' -> {
                    if (server != null) {
                        server.expectReadyForQuery();
                    }
                }
                default -> {
                }
            }
            return !terminateRequested;
        }
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

    private void authFailed(WireException e) {
        log.info("authentication failed for user \"{}\" from {}: {}", startup.user(), channel.remoteAddress(), e.getMessage());
        fatal(e.sqlState(), e.getMessage());
    }

    /** The client proved who it is: lease a server connection and finish the startup. */
    private void authenticated() {
        state = ClientState.WAITING_FOR_SERVER;
        startupTimer.cancel(false);
        write(BackendMessage.AuthenticationOk.INSTANCE);
        Node node;
        try {
            node = services.router().routeSession().node();
        } catch (RoutingException e) {
            fatal(e.sqlState(), e.getMessage());
            return;
        }
        PoolKey key = new PoolKey(new ServerAddress(node.name(), node.host(), node.port()), startup.database(), startup.user());
        pool = services.pools().pool(channel.eventLoop(), key);
        pool.lease(serverParameters(startup), auth.credentials()).addListener(this::onLeased);
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
        ServerConnection leased = (ServerConnection) lease.getNow();
        if (state != ClientState.WAITING_FOR_SERVER) {
            pool.release(leased);
            return;
        }
        server = leased;
        server.attach(this);
        cancelKey = services.cancels().register(this);
        for (Map.Entry<String, String> p : server.parameterStatus().entrySet()) {
            write(new BackendMessage.ParameterStatus(p.getKey(), p.getValue()));
        }
        write(new BackendMessage.BackendKeyData(cancelKey.processId(), cancelKey.secretKey()));
        write(BackendMessage.ReadyForQuery.IDLE);
        channel.flush();
        state = ClientState.ACTIVE;
        framer.inspect(ACTIVE_INSPECTED);
        List<ByteBuf> early = new ArrayList<>(heldBack);
        heldBack.clear();
        for (ByteBuf bytes : early) {
            onBytes(bytes);
        }
        flushToServer();
    }

    private void leaseFailed(Throwable cause) {
        if (cause instanceof PoolException pe && pe.serverError() != null) {
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
    public void onServerBytes(ByteBuf bytes) {
        channel.write(bytes, channel.voidPromise());
    }

    @Override
    public boolean onServerMessage(byte type, ByteBuf buf, int start, int length) {
        if (type == 'E') {
            ErrorResponse error = (ErrorResponse) BackendMessage.decode(buf, start, length);
            serverFatalSeen |= error.isFatal();
        } else if (type == 'Z' && services.draining()) {
            closeWhenIdle = true;
        }
        return true;
    }

    @Override
    public void onServerReadComplete() {
        channel.flush();
        if (closeWhenIdle && idleBetweenTransactions()) {
            fatal(SqlState.ADMIN_SHUTDOWN, "terminating connection due to administrator command");
            return;
        }
        if (!channel.isWritable() && server != null) {
            server.channel().config().setAutoRead(false);
        }
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

    /**
     * Starts a graceful shutdown of this session: closes it now when it is between transactions,
     * else as soon as it gets there. Call on any thread.
     */
    public void drain() {
        channel.eventLoop().execute(() -> {
            if (state == ClientState.CLOSED) {
                return;
            }
            if (state != ClientState.ACTIVE || idleBetweenTransactions()) {
                fatal(SqlState.ADMIN_SHUTDOWN, "terminating connection due to administrator command");
            } else {
                closeWhenIdle = true;
            }
        });
    }

    /** Ends the session now, whatever it is doing. Call on any thread. */
    public void terminate() {
        channel.eventLoop().execute(() -> {
            if (state != ClientState.CLOSED) {
                fatal(SqlState.ADMIN_SHUTDOWN, "terminating connection because pgrelay is shutting down");
            }
        });
    }

    private boolean idleBetweenTransactions() {
        return server == null || (!server.busy() && server.transactionStatus() == TransactionStatus.IDLE);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        state = ClientState.CLOSED;
        services.sessions().remove(this);
        if (startupTimer != null) {
            startupTimer.cancel(false);
        }
        services.cancels().unregister(cancelKey);
        if (framer != null) {
            framer.release();
        }
        heldBack.forEach(ByteBuf::release);
        heldBack.clear();
        ServerConnection s = server;
        server = null;
        if (s != null) {
            if (s.busy()) {
                // The client left mid-query: stop the query rather than let it run for no one.
                pool.releaseWhenIdle(s, () -> services.cancels().send(cancelTarget(s)));
            } else {
                pool.release(s);
            }
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        Throwable c = cause instanceof DecoderException && cause.getCause() != null ? cause.getCause() : cause;
        if (state == ClientState.CLOSED) {
            // Already told the client why; the decoder may re-read its leftover bytes as it closes.
            ctx.close();
        } else if (c instanceof WireException e) {
            log.info("closing client {}: {}", channel.remoteAddress(), e.getMessage());
            fatal(e.sqlState(), e.getMessage());
        } else if (c instanceof IOException) {
            log.debug("client {} connection error: {}", channel.remoteAddress(), c.toString());
            ctx.close();
        } else {
            log.error("internal error on client {}", channel.remoteAddress(), c);
            fatal(SqlState.INTERNAL_ERROR, "pgrelay internal error: " + c);
        }
    }

    private void write(BackendMessage message) {
        ByteBuf out = channel.alloc().buffer(64);
        message.encode(out);
        channel.write(out, channel.voidPromise());
    }

    private void writeByteAndFlush(char b) {
        channel.writeAndFlush(channel.alloc().buffer(1).writeByte(b), channel.voidPromise());
    }

    /** Sends a FATAL ErrorResponse and closes once it is written. */
    private void fatal(String sqlState, String message) {
        closeWith(BackendMessage.Errors.fatal(sqlState, message));
    }

    private void closeWith(ErrorResponse error) {
        if (state == ClientState.CLOSED) {
            return;
        }
        state = ClientState.CLOSED;
        if (!channel.isActive()) {
            channel.close();
            return;
        }
        ByteBuf out = channel.alloc().buffer(128);
        error.encode(out);
        channel.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
    }
}
