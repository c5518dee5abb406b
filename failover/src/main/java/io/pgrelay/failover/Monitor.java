package io.pgrelay.failover;

import io.pgrelay.conf.HealthCheckConfig;
import io.pgrelay.conf.MonitorConfig;
import java.sql.Connection;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Health checks and WAL sampling for every node of a {@link TopologyHolder}, each node on a
 * monitor thread of its own (never a caller's thread), publishing what it finds as new
 * snapshots. {@link #start()} once, {@link #close()} to stop the threads and close the
 * connections.
 */
public final class Monitor implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Monitor.class);

    private final TopologyHolder holder;
    private final HealthCheckConfig config;
    private final List<NodeMonitor> nodes = new ArrayList<>();
    private final ScheduledExecutorService executor;
    private final AtomicBoolean privilegesChecked = new AtomicBoolean();
    private final boolean failoverEnabled;
    private final MonitorConfig credentials;
    private volatile List<String> privilegeWarnings = List.of();

    /**
     * @param failoverEnabled whether to check, on the first connection, the rights failover needs
     *                        besides monitoring
     */
    public Monitor(TopologyHolder holder, HealthCheckConfig config, MonitorConfig credentials, boolean failoverEnabled,
                   Clock clock) {
        this.holder = holder;
        this.config = config;
        this.credentials = credentials;
        this.failoverEnabled = failoverEnabled;
        for (Node node : holder.current().nodes()) {
            nodes.add(new NodeMonitor(node, config, credentials, holder, clock, this::checkPrivileges));
        }
        // One thread per node: a node that hangs until its timeout delays no other node.
        this.executor = Executors.newScheduledThreadPool(Math.max(1, nodes.size()), threads("pgrelay-monitor-"));
    }

    /** Starts checking every node now. */
    public void start() {
        for (NodeMonitor node : nodes) {
            executor.scheduleWithFixedDelay(() -> tick(node), 0, config.lsnPeriod().toNanos(), TimeUnit.NANOSECONDS);
        }
        log.info("monitoring {} node(s) as {}: check every {} ms (timeout {} ms, down after {} failures), "
                        + "WAL sampled every {} ms", nodes.size(), credentials.user(), config.period().toMillis(),
                config.timeout().toMillis(), config.maxRetries(), config.lsnPeriod().toMillis());
    }

    /** What the monitor role lacks for failover, as GRANT statements to run; empty until a node answered. */
    public List<String> privilegeWarnings() {
        return privilegeWarnings;
    }

    @Override
    public void close() {
        executor.shutdownNow();
        try {
            if (!executor.awaitTermination(config.timeout().toMillis() + 2000, TimeUnit.MILLISECONDS)) {
                log.warn("monitor threads still busy after {} ms; closing their connections anyway",
                        config.timeout().toMillis() + 2000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        nodes.forEach(NodeMonitor::close);
    }

    private static void tick(NodeMonitor node) {
        try {
            node.tick();
        } catch (RuntimeException e) {
            // An exception would cancel the node's schedule and silently stop its checks.
            log.error("monitor of {} failed; it keeps running", node.name(), e);
        }
    }

    private void checkPrivileges(Connection connection) {
        if (privilegesChecked.compareAndSet(false, true)) {
            privilegeWarnings = Privileges.check(connection, credentials.user(), failoverEnabled);
        }
    }

    static ThreadFactory threads(String prefix) {
        AtomicInteger count = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
