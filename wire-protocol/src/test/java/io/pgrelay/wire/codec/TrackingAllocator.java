package io.pgrelay.wire.codec;

import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledDirectByteBuf;
import io.netty.buffer.UnpooledHeapByteBuf;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * An allocator for tests that remembers every buffer it hands out, so a test can assert that all
 * of them (its own inputs and whatever the code under test allocated from {@code buf.alloc()})
 * were released. Buffers are still wrapped for the leak detector.
 */
public final class TrackingAllocator extends AbstractByteBufAllocator {
    // Thread-safe: tests with real connections allocate on more than one event loop.
    private final Queue<ByteBuf> allocated = new ConcurrentLinkedQueue<>();

    public TrackingAllocator() {
        super(true);
    }

    /** A buffer holding exactly {@code bytes}. */
    public ByteBuf wrap(byte[] bytes) {
        return buffer(Math.max(bytes.length, 1)).writeBytes(bytes);
    }

    public ByteBuf wrap(byte[] bytes, int from, int to) {
        return buffer(Math.max(to - from, 1)).writeBytes(bytes, from, to - from);
    }

    public int allocations() {
        return allocated.size();
    }

    /** Fails naming every buffer still referenced. */
    public void assertAllReleased() {
        List<String> live = new ArrayList<>();
        int i = 0;
        for (ByteBuf buf : allocated) {
            if (buf.refCnt() != 0) {
                live.add("#" + i + " refCnt=" + buf.refCnt() + " " + buf);
            }
            i++;
        }
        if (!live.isEmpty()) {
            fail(live.size() + " of " + allocated.size() + " buffers not released: " + live);
        }
    }

    /**
     * The after-each check of a test: fails naming any buffer still referenced, and frees those
     * buffers either way so one failing test does not leak into the next.
     */
    public void assertAllReleasedThenFree() {
        try {
            assertAllReleased();
        } finally {
            releaseAll();
        }
    }

    /** Releases whatever is still referenced, so one failing test does not leak into others. */
    public void releaseAll() {
        for (ByteBuf buf : allocated) {
            if (buf.refCnt() > 0) {
                buf.release(buf.refCnt());
            }
        }
    }

    @Override
    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
        return track(new UnpooledHeapByteBuf(this, initialCapacity, maxCapacity));
    }

    @Override
    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
        return track(new UnpooledDirectByteBuf(this, initialCapacity, maxCapacity));
    }

    @Override
    public boolean isDirectBufferPooled() {
        return false;
    }

    private ByteBuf track(ByteBuf buf) {
        ByteBuf aware = toLeakAwareBuffer(buf);
        allocated.add(aware);
        return aware;
    }
}
