package io.pgrelay.server.session;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.util.ReferenceCountUtil;
import io.pgrelay.pool.Pool;
import io.pgrelay.pool.ServerConnection;
import io.pgrelay.pool.ServerListener;
import io.pgrelay.server.cancel.CancelRegistry;
import io.pgrelay.wire.SqlState;
import io.pgrelay.wire.WireException;
import io.pgrelay.wire.codec.MessageFramer;
import io.pgrelay.wire.message.backend.BackendMessage;
import io.pgrelay.wire.message.backend.BackendMessage.ErrorResponse;
import io.pgrelay.wire.message.backend.TransactionStatus;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A logged-in client linked to its server connection: bytes flow both ways untouched, with
 * back-pressure, while pgrelay watches only what decides when the server is free (Query, Sync,
 * FunctionCall, Terminate from the client; ReadyForQuery, ErrorResponse from the server). Runs
 * on the client channel's event loop, which also serves the server connection, so its state
 * needs no locks.
 */
public final class ClientSession extends ClientHandler
        implements MessageFramer.Sink, ServerListener, CancelRegistry.Cancellable {
    /** Watched client messages: the ones answered by ReadyForQuery, and Terminate. */
    private static final String INSPECTED = "QSFX";

    private final Pool pool;
    private final MessageFramer framer;
    private ServerConnection server;
    private CancelRegistry.Key cancelKey;
    private boolean wroteToServer;
    private boolean terminateRequested;
    private boolean serverFatalSeen;
    private boolean closeWhenIdle;

    ClientSession(SessionServices services, Channel channel, Pool pool, ServerConnection server, MessageFramer framer) {
        super(services, channel, ClientState.ACTIVE);
        this.pool = pool;
        this.server = server;
        this.framer = framer;
    }

    /**
     * Finishes the client's startup (ParameterStatus, pgrelay's own BackendKeyData,
     * ReadyForQuery) and forwards what the client sent early; takes ownership of {@code early}.
     */
    void start(ArrayDeque<ByteBuf> early) {
        server.attach(this);
        cancelKey = services.cancels().register(this);
        for (Map.Entry<String, String> p : server.parameterStatus().entrySet()) {
            write(new BackendMessage.ParameterStatus(p.getKey(), p.getValue()));
        }
        write(new BackendMessage.BackendKeyData(cancelKey.processId(), cancelKey.secretKey()));
        write(BackendMessage.ReadyForQuery.IDLE);
        channel.flush();
        framer.inspect(INSPECTED);
        List<ByteBuf> held = new ArrayList<>(early);
        early.clear();
        for (ByteBuf bytes : held) {
            onBytes(bytes);
        }
        flushToServer();
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
        if (state != ClientState.ACTIVE) {
            bytes.release();
            return;
        }
        try {
            framer.feed(bytes, this);
        } catch (WireException e) {
            fatal(e.sqlState(), e.getMessage());
            return;
        }
        if (terminateRequested) {
            flushToServer();
            state = ClientState.CLOSED;
            channel.close();
        }
    }

    @Override
    public boolean onMessage(byte type, ByteBuf buf, int start, int length) {
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
}
