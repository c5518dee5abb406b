package io.pgrelay.server.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * The meters client sessions update on their event loops: client bytes in and out, query
 * duration and pool wait time. Created once with their tags, so that an update allocates nothing.
 */
public final class SessionMeters {
    /** Client bytes received and sent; Prometheus adds {@code _total}. */
    public static final String BYTES = RelayMetrics.PREFIX + "client.bytes";
    /** From a client's Query or Sync reaching pgrelay's server side to the ReadyForQuery that ends it. */
    public static final String QUERY_DURATION = RelayMetrics.PREFIX + "query.duration";
    /** From asking a pool for a server connection to getting one (or the lease failing). */
    public static final String POOL_WAIT = RelayMetrics.PREFIX + "pool.wait";
    /** Bucket bounds: a pooler's queries and waits span sub-millisecond to seconds. */
    private static final Duration[] BUCKETS = {Duration.ofMillis(1).dividedBy(2), Duration.ofMillis(1),
        Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50),
        Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1),
        Duration.ofSeconds(5), Duration.ofSeconds(10)};

    private final LongAdder bytesIn = new LongAdder();
    private final LongAdder bytesOut = new LongAdder();
    private final Timer queryDuration;
    private final Timer poolWait;

    public SessionMeters(MeterRegistry registry) {
        // The registry holds a FunctionCounter's object weakly; this object lives as long as the sessions' services.
        FunctionCounter.builder(BYTES, this, m -> m.bytesIn.sum()).tag("direction", "in")
                .description("Bytes received from clients").baseUnit("bytes").register(registry);
        FunctionCounter.builder(BYTES, this, m -> m.bytesOut.sum()).tag("direction", "out")
                .description("Bytes sent to clients").baseUnit("bytes").register(registry);
        queryDuration = Timer.builder(QUERY_DURATION).serviceLevelObjectives(BUCKETS)
                .description("Time from a client's Query or Sync going to the server to its ReadyForQuery")
                .register(registry);
        poolWait = Timer.builder(POOL_WAIT).serviceLevelObjectives(BUCKETS)
                .description("Time a client waited for a server connection from a pool").register(registry);
    }

    /** Meters that count but are exported nowhere, for sessions built without a server (tests). */
    public static SessionMeters unexported() {
        return new SessionMeters(new SimpleMeterRegistry());
    }

    public void bytesIn(long bytes) {
        bytesIn.add(bytes);
    }

    public void bytesOut(long bytes) {
        bytesOut.add(bytes);
    }

    public void queryDone(long startNanos, long endNanos) {
        queryDuration.record(endNanos - startNanos, TimeUnit.NANOSECONDS);
    }

    public void leaseDone(long startNanos, long endNanos) {
        poolWait.record(endNanos - startNanos, TimeUnit.NANOSECONDS);
    }
}
