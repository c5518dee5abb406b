package io.pgrelay.wire.codec;

import io.netty.buffer.ByteBuf;
import io.pgrelay.wire.SqlState;
import io.pgrelay.wire.WireException;

/**
 * Splits a stream of typed protocol messages (one type byte, an int32 length) at message
 * boundaries without decoding them, so that bytes can be forwarded as they arrive.
 *
 * <p>Messages whose type is in the inspected set are shown whole to {@link Sink#onMessage}; all
 * other bytes, including a large message that arrives over several reads, are handed on in as
 * few slices as possible (usually the read buffer itself). Only a header or an inspected message
 * split across reads is copied. This is the zero-copy path of ARCHITECTURE.md.
 *
 * <p>Not thread-safe: one instance per connection direction, used on its event loop.
 *
 * @see <a href="https://www.postgresql.org/docs/current/protocol-overview.html#PROTOCOL-MESSAGE-CONCEPTS">Messaging overview</a>
 */
public final class MessageFramer {
    private static final int HEADER_LENGTH = 5;

    /** Receives what {@link #feed} finds. */
    public interface Sink {
        /**
         * Shows one whole inspected message, the type byte at {@code start}. The buffer is only
         * valid during the call, and bytes before the message may not have been forwarded yet:
         * record what to do and act once {@link #feed} returns, or call
         * {@link MessageFramer#forwardPreceding} first when something must be sent in between.
         *
         * @return true to forward the message with the stream, false to drop it
         */
        boolean onMessage(byte type, ByteBuf buf, int start, int length);

        /** Bytes to forward untouched; ownership passes to the sink. */
        void forward(ByteBuf bytes);
    }

    private final int maxMessageSize;
    private final boolean[] inspected = new boolean[256];
    private ByteBuf pending;
    private int passThroughRemaining;
    /** While {@link #scan} shows a message: the buffer, where its unforwarded run starts, the message. */
    private ByteBuf scanning;
    private int scanRunStart;
    private int scanMessageStart;
    private Sink scanSink;

    /**
     * @param maxMessageSize largest accepted message length (the int32 after the type byte)
     * @param inspectedTypes the message type bytes to show whole, e.g. {@code "ZES"}
     */
    public MessageFramer(int maxMessageSize, String inspectedTypes) {
        this.maxMessageSize = maxMessageSize;
        inspect(inspectedTypes);
    }

    /** A framer that shows every message whole, for the startup and authentication phases. */
    public static MessageFramer inspectingAll(int maxMessageSize) {
        MessageFramer framer = new MessageFramer(maxMessageSize, "");
        java.util.Arrays.fill(framer.inspected, true);
        return framer;
    }

    /** Shows every message whole from now on, e.g. while a proxy must account for each one. */
    public void inspectAll() {
        java.util.Arrays.fill(inspected, true);
    }

    /** Replaces the inspected set, e.g. when a connection leaves its authentication phase. */
    public void inspect(String inspectedTypes) {
        java.util.Arrays.fill(inspected, false);
        for (int i = 0; i < inspectedTypes.length(); i++) {
            inspected[inspectedTypes.charAt(i) & 0xFF] = true;
        }
    }

    /**
     * Called from {@link Sink#onMessage}: forwards the bytes that came before the shown message
     * now, so that the sink can send something of its own between them and the message.
     */
    public void forwardPreceding() {
        if (scanning != null) {
            forwardRun(scanning, scanRunStart, scanMessageStart, scanSink);
            scanRunStart = scanMessageStart;
        }
    }

    /** True when no partial message is held back and no forwarded message is half received. */
    public boolean atMessageBoundary() {
        return pending == null && passThroughRemaining == 0;
    }

    /**
     * Consumes {@code in} (takes ownership) and reports messages and forwardable bytes to the sink.
     *
     * @throws WireException 08P01 on a length below 4 or above the maximum; {@code in} is released
     */
    public void feed(ByteBuf in, Sink sink) {
        boolean ownershipPassed = false;
        try {
            if (pending != null && !completePending(in, sink)) {
                return;
            }
            ownershipPassed = scan(in, sink);
        } finally {
            if (!ownershipPassed) {
                in.release();
            }
        }
    }

    /** Releases a held-back partial message; call when the connection closes. */
    public void release() {
        if (pending != null) {
            pending.release();
            pending = null;
        }
        passThroughRemaining = 0;
    }

    /** Returns true when {@code in} itself was forwarded. */
    private boolean scan(ByteBuf in, Sink sink) {
        final int first = in.readerIndex();
        final int end = in.writerIndex();
        int idx = first;
        int runStart = first;
        while (idx < end) {
            if (passThroughRemaining > 0) {
                int n = Math.min(passThroughRemaining, end - idx);
                idx += n;
                passThroughRemaining -= n;
                continue;
            }
            if (end - idx < HEADER_LENGTH) {
                forwardRun(in, runStart, idx, sink);
                stash(in, idx, end);
                return false;
            }
            byte type = in.getByte(idx);
            int total = checkedLength(type, in.getInt(idx + 1)) + 1;
            if (!inspected[type & 0xFF]) {
                int n = Math.min(total, end - idx);
                idx += n;
                passThroughRemaining = total - n;
            } else if (end - idx < total) {
                forwardRun(in, runStart, idx, sink);
                stash(in, idx, end);
                return false;
            } else {
                scanning = in;
                scanRunStart = runStart;
                scanMessageStart = idx;
                scanSink = sink;
                boolean keep;
                try {
                    keep = sink.onMessage(type, in, idx, total);
                } finally {
                    scanning = null;
                    scanSink = null;
                }
                runStart = scanRunStart;
                if (!keep) {
                    forwardRun(in, runStart, idx, sink);
                    runStart = idx + total;
                }
                idx += total;
            }
        }
        if (runStart == first && idx == end && end > first) {
            sink.forward(in);
            return true;
        }
        forwardRun(in, runStart, idx, sink);
        return false;
    }

    /** Tops up the held-back bytes from {@code in}; true once they are dealt with. */
    private boolean completePending(ByteBuf in, Sink sink) {
        if (pending.readableBytes() < HEADER_LENGTH) {
            pending.writeBytes(in, Math.min(HEADER_LENGTH - pending.readableBytes(), in.readableBytes()));
            if (pending.readableBytes() < HEADER_LENGTH) {
                return false;
            }
        }
        int start = pending.readerIndex();
        byte type = pending.getByte(start);
        int total = checkedLength(type, pending.getInt(start + 1)) + 1;
        if (!inspected[type & 0xFF]) {
            passThroughRemaining = total - pending.readableBytes();
            ByteBuf header = pending;
            pending = null;
            sink.forward(header);
            return true;
        }
        pending.writeBytes(in, Math.min(total - pending.readableBytes(), in.readableBytes()));
        if (pending.readableBytes() < total) {
            return false;
        }
        ByteBuf message = pending;
        pending = null;
        if (sink.onMessage(type, message, start, total)) {
            sink.forward(message);
        } else {
            message.release();
        }
        return true;
    }

    private int checkedLength(byte type, int length) {
        if (length < 4) {
            throw new WireException(SqlState.PROTOCOL_VIOLATION,
                    "invalid message length " + length + " for message type '" + printable(type) + "'");
        }
        if (length > maxMessageSize) {
            throw new WireException(SqlState.PROTOCOL_VIOLATION,
                    "message length " + length + " exceeds max_message_size " + maxMessageSize);
        }
        return length;
    }

    private void stash(ByteBuf in, int from, int to) {
        pending = in.alloc().buffer(Math.max(to - from, 64));
        pending.writeBytes(in, from, to - from);
    }

    private static void forwardRun(ByteBuf in, int from, int to, Sink sink) {
        if (to > from) {
            sink.forward(in.retainedSlice(from, to - from));
        }
    }

    private static String printable(byte type) {
        return type >= 0x20 && type < 0x7f ? String.valueOf((char) type) : String.format("0x%02x", type & 0xFF);
    }
}
