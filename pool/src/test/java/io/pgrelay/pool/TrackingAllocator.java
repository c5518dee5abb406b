package io.pgrelay.pool;

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
 * An allocator that remembers every buffer it hands out, so a test can check that the code under
 * test released all of them: set as {@code ChannelOption.ALLOCATOR} on both ends of a connection,
 * it sees every read buffer and every buffer allocated from {@code ctx.alloc()}. Thread-safe, since
 * the fake server and the pool run on different event loops. Buffers are still wrapped for the
 * leak detector.
 */
final class TrackingAllocator extends AbstractByteBufAllocator {
    private final Queue<ByteBuf> allocated = new ConcurrentLinkedQueue<>();

    TrackingAllocator() {
        super(true);
    }

    /** Fails naming every buffer still referenced; call once every channel is closed. */
    void assertAllReleased() {
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
