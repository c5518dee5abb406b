package io.pgrelay.pool;

import io.netty.buffer.ByteBuf;

/**
 * The client side of a leased server connection: receives the server's output. All calls come on
 * the server channel's event loop, which is also the client's.
 */
public interface ServerListener {
    /** Server bytes to forward; ownership passes to the listener. */
    void onServerBytes(ByteBuf bytes);

    /**
     * A whole ReadyForQuery, ParameterStatus or ErrorResponse, shown before it is forwarded (see
     * {@link io.pgrelay.wire.codec.MessageFramer.Sink#onMessage}).
     *
     * @return true to forward it to the client
     */
    boolean onServerMessage(byte type, ByteBuf buf, int start, int length);

    /** The end of one read from the server: time to flush. */
    void onServerReadComplete();

    void onServerWritabilityChanged(boolean writable);

    /** The server connection closed while leased. */
    void onServerClosed(ServerConnection server);
}
