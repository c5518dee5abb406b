package io.pgrelay.router.classify;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * The fast path in front of the lexer: a direct-mapped table from a statement's exact bytes to its
 * {@link ClassifiedQuery}. A hit costs one hash over the bytes and one array comparison; a collision
 * of two texts on one slot just replaces the older. Lock-free: entries are immutable and published
 * through final fields, so a racing reader sees a whole entry or a miss.
 */
final class ExactTextCache {
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private final Entry[] table;
    private final int mask;
    private final int maxTextLength;

    /**
     * @param slots         rounded up to a power of two
     * @param maxTextLength longer texts are not cached (they are rarely repeated byte for byte)
     */
    ExactTextCache(int slots, int maxTextLength) {
        int size = Integer.highestOneBit(Math.max(2, slots - 1)) << 1;
        this.table = new Entry[size];
        this.mask = size - 1;
        this.maxTextLength = maxTextLength;
    }

    ClassifiedQuery get(byte[] buf, int offset, int length, int hash) {
        Entry e = table[hash & mask];
        if (e != null && e.hash == hash && e.text.length == length
                && Arrays.equals(e.text, 0, length, buf, offset, offset + length)) {
            return e.value;
        }
        return null;
    }

    void put(byte[] buf, int offset, int length, int hash, ClassifiedQuery value) {
        if (length <= maxTextLength) {
            table[hash & mask] = new Entry(Arrays.copyOfRange(buf, offset, offset + length), hash, value);
        }
    }

    void clear() {
        Arrays.fill(table, null);
    }

    /** A 32-bit hash of the bytes, eight at a time. */
    static int hash(byte[] buf, int offset, int length) {
        long h = 0x9E3779B97F4A7C15L ^ length;
        int i = offset;
        int end = offset + length;
        for (; i + 8 <= end; i += 8) {
            long v = (long) LONGS.get(buf, i);
            h = Long.rotateLeft(h ^ (v * 0xC2B2AE3D27D4EB4FL), 31) * 0x9E3779B97F4A7C15L;
        }
        for (; i < end; i++) {
            h = (h ^ buf[i]) * 0x100000001B3L;
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        return (int) h;
    }

    private record Entry(byte[] text, int hash, ClassifiedQuery value) {
    }
}
