package io.pgrelay.server.session;

import io.netty.buffer.ByteBuf;
import io.netty.util.concurrent.FastThreadLocal;
import io.pgrelay.router.classify.ClassifiedQuery;
import io.pgrelay.router.classify.QueryClassifier;

/**
 * Hands statement text inside a frame to the classifier without a String, through
 * one scratch array per thread.
 */
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

    /** Classifies the {@code length} bytes at {@code from}; the classifier keeps no reference to them. */
    static ClassifiedQuery classify(QueryClassifier classifier, ByteBuf buf, int from, int length) {
        if (buf.hasArray()) {
            return classifier.classify(buf.array(), buf.arrayOffset() + from, length);
        }
        return classifier.classify(copy(buf, from, length), 0, length);
    }

    /** The bytes in this thread's scratch array, from index 0. */
    private static byte[] copy(ByteBuf buf, int from, int length) {
        byte[] scratch = SCRATCH.get();
        if (scratch.length < length) {
            scratch = new byte[Math.max(length, scratch.length * 2)];
            if (length <= KEPT_SCRATCH_BYTES) {
                SCRATCH.set(scratch);
            }
        }
        buf.getBytes(from, scratch, 0, length);
        return scratch;
    }
}
