package io.pgrelay.server.session;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.util.AttributeKey;
import io.pgrelay.server.metrics.SessionMeters;
import io.pgrelay.wire.SqlState;
import io.pgrelay.wire.WireException;
import io.pgrelay.wire.message.backend.BackendMessage;
import io.pgrelay.wire.message.backend.BackendMessage.ErrorResponse;
import java.io.IOException;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the two phases of a client connection ({@link ClientLogin}, then {@link ClientSession})
 * share: the channel and its state, replies to the client, and how errors end the connection.
 */
public abstract class ClientHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(ClientHandler.class);
    private static final AttributeKey<ClientIdentity> IDENTITY = AttributeKey.valueOf(ClientIdentity.class.getName());

    protected final SessionServices services;
    protected final SessionMeters meters;
    protected Channel channel;
    protected ClientState state;

    protected ClientHandler(SessionServices services, Channel channel, ClientState state) {
        this.services = services;
        this.meters = services.meters();
        this.channel = channel;
        this.state = state;
    }

    public ClientState state() {
        return state;
    }

    /** The client's channel; null until the connection is active. */
    public Channel channel() {
        return channel;
    }

    /** Who the client said it is in its StartupMessage, or null before that arrived. */
    public ClientIdentity identity() {
        return channel == null ? null : channel.attr(IDENTITY).get();
    }

    /** Records who the client is, from its StartupMessage; kept on the channel so later phases see it too. */
    protected void identify(String user, String database) {
        channel.attr(IDENTITY).set(new ClientIdentity(user, database, Instant.now()));
    }

    /** Ends the connection now with 57P01 and {@code message}, e.g. for KILL. Call on any thread. */
    public void kill(String message) {
        channel.eventLoop().execute(() -> fatal(SqlState.ADMIN_SHUTDOWN, message));
    }

    /**
     * Starts a graceful shutdown of this connection: ends it now when it is between transactions,
     * else as soon as it gets there. Call on any thread.
     */
    public abstract void drain();

    /** Ends the connection now, whatever it is doing. Call on any thread. */
    public void terminate() {
        channel.eventLoop().execute(() -> fatal(SqlState.ADMIN_SHUTDOWN, "terminating connection because pgrelay is shutting down"));
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

    /** Writes a message without flushing. */
    protected void write(BackendMessage message) {
        ByteBuf out = channel.alloc().buffer(64);
        message.encode(out);
        meters.bytesOut(out.readableBytes());
        channel.write(out, channel.voidPromise());
    }

    /** Sends a FATAL ErrorResponse and closes once it is written. */
    protected void fatal(String sqlState, String message) {
        closeWith(BackendMessage.Errors.fatal(sqlState, message));
    }

    /** Sends {@code error} (pgrelay's or PostgreSQL's own) and closes once it is written. */
    protected void closeWith(ErrorResponse error) {
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
        meters.bytesOut(out.readableBytes());
        channel.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
    }
}
