package io.pgrelay.server.session;

import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.FastThreadLocal;
import io.pgrelay.router.sql.SqlAnalysis;
import io.pgrelay.router.sql.SqlLexer;

/** Hands statement text inside a frame to the lexer without a String, through one scratch array per thread. */
final class SqlText {
    /** A scratch array up to this size stays for the next statement; a larger one is dropped after use. */
    private static final int KEPT_SCRATCH_BYTES = 1 << 20;
    private static final FastThreadLocal<byte[]> SCRATCH = new FastThreadLocal<>() {
        @Override
        protected byte[] initialValue() {
            return new byte[4096];
        }
    };

    private SqlText() {
    }

    /** Lexes the {@code length} bytes at {@code from}. */
    static SqlAnalysis analyze(ByteBuf buf, int from, int length) {
        if (buf.hasArray()) {
            return SqlLexer.analyze(buf.array(), buf.arrayOffset() + from, length);
        }
        byte[] scratch = SCRATCH.get();
        if (scratch.length < length) {
            scratch = new byte[Math.max(length, scratch.length * 2)];
            if (length <= KEPT_SCRATCH_BYTES) {
                SCRATCH.set(scratch);
            }
        }
        buf.getBytes(from, scratch, 0, length);
        return SqlLexer.analyze(scratch, 0, length);
    }
}
