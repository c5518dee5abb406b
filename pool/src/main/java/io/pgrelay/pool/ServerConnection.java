package io.pgrelay.pool;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.pgrelay.wire.WireException;
import io.pgrelay.wire.codec.MessageFramer;
import io.pgrelay.wire.message.backend.BackendMessage;
import io.pgrelay.wire.message.backend.BackendMessage.ErrorResponse;
import io.pgrelay.wire.message.backend.BackendMessage.ParameterStatus;
import io.pgrelay.wire.message.backend.TransactionStatus;
import io.pgrelay.wire.message.frontend.FrontendMessage;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One authenticated connection to a PostgreSQL server, and the handler of its channel. While
 * leased it forwards the server's bytes to its {@link ServerListener} untouched, watching only
 * ReadyForQuery (transaction state), ParameterStatus and ErrorResponse.
 */
public final class ServerConnection extends ChannelInboundHandlerAdapter implements MessageFramer.Sink {
    private static final Logger log = LoggerFactory.getLogger(ServerConnection.class);
    private static final String INSPECTED_TYPES = "ZSE";

    private final Channel channel;
    private final PoolKey key;
    private final Map<String, String> startupParameters;
    private final Map<String, String> parameterStatus;
    private final int processId;
    private final int secretKey;
    private final MessageFramer framer;
    private final long createdNanos = System.nanoTime();
    private final ServerPreparedStatements prepared;
    private final Map<String, String> sessionSettings = new HashMap<>();

    private Pool pool;
    private ServerState state = ServerState.CONNECTING;
    private ServerListener listener;
    private TransactionStatus transactionStatus = TransactionStatus.IDLE;
    private int pendingReadyForQuery;
    private ErrorResponse resetError;
    private boolean sawFatal;
    private Runnable onIdle;
    private boolean resetDiscardsState;
    private long lifetimeNanos = Long.MAX_VALUE;
    private long idleSinceNanos = System.nanoTime();

    ServerConnection(Channel channel, PoolKey key, Map<String, String> startupParameters,
                     Map<String, String> parameterStatus, int processId, int secretKey, int maxMessageSize,
                     int preparedStatementCapacity) {
        this.channel = channel;
        this.key = key;
        this.startupParameters = Collections.unmodifiableMap(new LinkedHashMap<>(startupParameters));
        this.parameterStatus = new LinkedHashMap<>(parameterStatus);
        this.processId = processId;
        this.secretKey = secretKey;
        this.framer = new MessageFramer(maxMessageSize, INSPECTED_TYPES);
        this.prepared = new ServerPreparedStatements(preparedStatementCapacity);
    }

    public PoolKey key() {
        return key;
    }

    public Channel channel() {
        return channel;
    }

    /** The startup parameters this connection was opened with (besides user and database). */
    public Map<String, String> startupParameters() {
        return startupParameters;
    }

    /** The server's current run-time parameters, as last reported by ParameterStatus. */
    public Map<String, String> parameterStatus() {
        return Collections.unmodifiableMap(parameterStatus);
    }

    /** The statements pgrelay prepared on this connection under its own names (transaction pooling). */
    public ServerPreparedStatements prepared() {
        return prepared;
    }

    /**
     * The session settings the session layer applied here beyond the startup parameters, by
     * setting name; the session layer owns the values. Emptied by the reset query.
     */
    public Map<String, String> sessionSettings() {
        return sessionSettings;
    }

    /**
     * Shows the listener these server message types whole, besides ReadyForQuery, ParameterStatus
     * and ErrorResponse: a session that accounts for each response needs more of them.
     */
    public void inspect(String types) {
        framer.inspect(INSPECTED_TYPES + types);
    }

    /**
     * From {@link ServerListener#onServerMessage}: hands the listener the server bytes before the
     * shown message now, so that it can send something of its own between them and the message.
     */
    public void forwardPreceding() {
        framer.forwardPreceding();
    }

    /** Shows the listener every server message whole (while all output is pgrelay's own). */
    public void inspectAll() {
        framer.inspectAll();
    }

    /** The backend's own process id, for CancelRequest. */
    public int processId() {
        return processId;
    }

    /** The backend's own cancel key. */
    public int secretKey() {
        return secretKey;
    }

    public ServerState state() {
        return state;
    }

    public TransactionStatus transactionStatus() {
        return transactionStatus;
    }

    public long ageNanos() {
        return System.nanoTime() - createdNanos;
    }

    /** True once the connection is older than the lifetime its pool gave it. */
    boolean expired() {
        return ageNanos() > lifetimeNanos;
    }

    void lifetime(long nanos) {
        lifetimeNanos = nanos;
    }

    /** How long the connection has been idle in its pool. */
    long idleNanos() {
        return System.nanoTime() - idleSinceNanos;
    }

    void markIdle() {
        idleSinceNanos = System.nanoTime();
    }

    /** True when the server owes a ReadyForQuery for work already sent. */
    public boolean busy() {
        return pendingReadyForQuery > 0 || !framer.atMessageBoundary();
    }

    /** Clean enough to serve another client after a reset. */
    boolean reusable() {
        return channel.isActive() && !sawFatal && !busy() && transactionStatus == TransactionStatus.IDLE;
    }

    void attachPool(Pool pool) {
        this.pool = pool;
        pool.track(this);
    }

    void transitionTo(ServerState next) {
        if (pool != null && state != next) {
            pool.onStateChange(this, state, next);
            if (next == ServerState.CLOSED) {
                pool.untrack(this);
            }
        }
        state = next;
    }

    /** Links a leased connection to its client; the server's output goes to {@code listener} from now on. */
    public void attach(ServerListener listener) {
        this.listener = listener;
        channel.config().setAutoRead(true);
    }

    void detach() {
        listener = null;
        framer.inspect(INSPECTED_TYPES);
    }

    /** Runs {@code action} once the server owes no more ReadyForQuery (the client is gone meanwhile). */
    void onceIdle(Runnable action) {
        onIdle = action;
    }

    /** Writes client bytes to the server without flushing; ownership passes on. */
    public void write(ByteBuf bytes) {
        channel.write(bytes, channel.voidPromise());
    }

    public void flush() {
        channel.flush();
    }

    /** The client sent a message (Query, Sync, FunctionCall) that the server answers with ReadyForQuery. */
    public void expectReadyForQuery() {
        pendingReadyForQuery++;
    }

    /**
     * Runs the reset query (or a liveness check), then calls the pool back with the outcome.
     *
     * @param discardsState true when the query drops prepared statements and settings (DISCARD ALL)
     */
    void reset(String resetQuery, boolean discardsState) {
        transitionTo(ServerState.RESETTING);
        resetDiscardsState = discardsState;
        resetError = null;
        pendingReadyForQuery++;
        ByteBuf out = channel.alloc().buffer(resetQuery.length() + 6);
        new FrontendMessage.Query(resetQuery).encode(out);
        channel.writeAndFlush(out, channel.voidPromise());
    }

    /** Closes the connection for good, telling the server with Terminate when it can still hear. */
    public void close() {
        if (state == ServerState.CLOSED) {
            return;
        }
        transitionTo(ServerState.CLOSED);
        listener = null;
        if (channel.isActive()) {
            ByteBuf out = channel.alloc().buffer(5);
            FrontendMessage.Terminate.INSTANCE.encode(out);
            channel.writeAndFlush(out).addListener(f -> channel.close());
        } else {
            channel.close();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        framer.feed((ByteBuf) msg, this);
    }

    @Override
    public boolean onMessage(byte type, ByteBuf buf, int start, int length) {
        switch (type) {
            case 'Z' -> {
                transactionStatus = TransactionStatus.of(buf.getByte(start + 5));
                if (pendingReadyForQuery > 0) {
                    pendingReadyForQuery--;
                }
                if (state == ServerState.ACTIVE && pool != null) {
                    pool.countReadyForQuery(transactionStatus == TransactionStatus.IDLE);
                }
                if (state == ServerState.RESETTING && pendingReadyForQuery == 0) {
                    finishReset();
                    return false;
                }
                if (onIdle != null && pendingReadyForQuery == 0) {
                    Runnable action = onIdle;
                    onIdle = null;
                    action.run();
                    return false;
                }
            }
            case 'S' -> {
                ParameterStatus ps = (ParameterStatus) BackendMessage.decode(buf, start, length);
                parameterStatus.put(ps.name(), ps.value());
            }
            case 'E' -> {
                ErrorResponse error = (ErrorResponse) BackendMessage.decode(buf, start, length);
                if (error.isFatal()) {
                    sawFatal = true;
                }
                if (state == ServerState.RESETTING) {
                    resetError = error;
                }
            }
            default -> {
            }
        }
        ServerListener l = listener;
        return l != null && l.onServerMessage(type, buf, start, length);
    }

    @Override
    public void forward(ByteBuf bytes) {
        ServerListener l = listener;
        if (l != null) {
            l.onServerBytes(bytes);
        } else {
            bytes.release();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        ServerListener l = listener;
        if (l != null) {
            l.onServerReadComplete();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        ServerListener l = listener;
        if (l != null) {
            l.onServerWritabilityChanged(channel.isWritable());
        }
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        framer.release();
        ServerListener l = listener;
        listener = null;
        transitionTo(ServerState.CLOSED);
        if (l != null) {
            l.onServerClosed(this);
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof WireException) {
            log.warn("server {} pid {} sent a malformed message: {}", key, processId, cause.getMessage());
        } else {
            log.debug("server {} pid {} connection error: {}", key, processId, cause.toString());
        }
        ctx.close();
    }

    private void finishReset() {
        if (resetError != null || transactionStatus != TransactionStatus.IDLE) {
            log.warn("server {} pid {}: reset query failed ({}); closing it",
                    key, processId, resetError != null ? resetError.message() : transactionStatus);
            close();
        } else if (pool != null) {
            if (resetDiscardsState) {
                prepared.clear();
                sessionSettings.clear();
            }
            pool.resetDone(this);
        }
    }

    @Override
    public String toString() {
        return key + " pid " + processId;
    }
}
