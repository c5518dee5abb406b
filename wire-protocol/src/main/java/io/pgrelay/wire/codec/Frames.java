package io.pgrelay.wire.codec;

import io.netty.buffer.ByteBuf;
import io.pgrelay.wire.SqlState;
import io.pgrelay.wire.WireException;
import java.nio.charset.StandardCharsets;

/** Low-level helpers for typed messages: the length word and null-terminated strings. */
public final class Frames {
    private Frames() {
    }

    /** Writes the type and a placeholder length; returns the index of the length word. */
    public static int begin(ByteBuf out, char type) {
        out.writeByte(type);
        int lengthIndex = out.writerIndex();
        out.writeInt(0);
        return lengthIndex;
    }

    /** Fills in the length word written by {@link #begin}. */
    public static void end(ByteBuf out, int lengthIndex) {
        out.setInt(lengthIndex, out.writerIndex() - lengthIndex);
    }

    public static void writeCString(ByteBuf out, String s) {
        out.writeCharSequence(s, StandardCharsets.UTF_8);
        out.writeByte(0);
    }

    /** Index of the terminating zero byte of the string starting at {@code from}, or -1. */
    public static int cStringEnd(ByteBuf buf, int from, int limit) {
        return buf.indexOf(from, limit, (byte) 0);
    }

    /** Reads the null-terminated string at {@code from}; throws if it is not terminated before limit. */
    public static String readCString(ByteBuf buf, int from, int limit) {
        int zero = cStringEnd(buf, from, limit);
        if (zero < 0) {
            throw new WireException(SqlState.PROTOCOL_VIOLATION, "string in message is not null-terminated");
        }
        return buf.toString(from, zero - from, StandardCharsets.UTF_8);
    }
}
