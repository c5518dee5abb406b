package io.pgrelay.wire.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Byte literals for golden tests and byte assertions that print a hex dump on mismatch. */
public final class WireBytes {
    private WireBytes() {
    }

    /** Parses hex digits, ignoring whitespace: {@code hex("52 00000008")}. */
    public static byte[] hex(String digits) {
        String s = digits.replaceAll("\\s+", "");
        if (s.length() % 2 != 0) {
            throw new IllegalArgumentException("odd number of hex digits: " + digits);
        }
        byte[] out = new byte[s.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        }
        return out;
    }

    /** The UTF-8 bytes of {@code s}, no terminator. */
    public static byte[] text(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    public static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    /** The readable bytes of {@code buf}, indexes unchanged. */
    public static byte[] readable(ByteBuf buf) {
        return ByteBufUtil.getBytes(buf);
    }

    public static String dump(byte[] bytes) {
        ByteBuf buf = Unpooled.wrappedBuffer(bytes);
        try {
            return ByteBufUtil.prettyHexDump(buf);
        } finally {
            buf.release();
        }
    }

    public static void assertBytes(byte[] expected, byte[] actual) {
        assertArrayEquals(expected, actual, () -> "bytes differ (" + expected.length + " expected, "
                + actual.length + " actual)\nexpected:\n" + dump(expected) + "\nactual:\n" + dump(actual));
    }

    public static void assertBytes(byte[] expected, ByteBuf actual) {
        assertBytes(expected, readable(actual));
    }
}
