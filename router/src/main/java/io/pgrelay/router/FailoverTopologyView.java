package io.pgrelay.router;

import io.pgrelay.failover.Node;
import io.pgrelay.failover.Topology;
import io.pgrelay.failover.Wal;
import io.pgrelay.router.policy.ReplicaView;
import io.pgrelay.router.policy.TopologyView;
import io.pgrelay.router.stats.NodeCounters;
import io.pgrelay.router.stats.RoutingCounters;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * One failover {@link Topology} snapshot as the routing policy reads it: the primary in service,
 * the standbys the monitor has confirmed and sampled, and WAL positions with sample times on the
 * {@link System#nanoTime()} scale.
 */
public final class FailoverTopologyView implements TopologyView {
    /**
     * Taken off a converted sample time: wall clock and nanoTime are read a moment apart, and a
     * sample must never look newer than it is, or a read could miss the client's own write.
     */
    static final long SAMPLE_TIME_MARGIN_NANOS = Duration.ofMillis(2).toNanos();

    private final Topology topology;
    private final RoutedNode primary;
    private final List<RoutedNode> replicas;
    private final long primaryLsn;
    private final long primaryLsnSampledAt;

    private FailoverTopologyView(Topology topology, Instant wallNow, long nanoNow, RoutingCounters counters) {
        this.topology = topology;
        Node p = topology.primary().orElse(null);
        this.primary = p == null ? null : new RoutedNode(p, counters.of(p.name()), false);
        long timeline = p == null ? 0 : p.wal().timeline();
        this.replicas = topology.replicas().stream()
                .map(n -> new RoutedNode(n, counters.of(n.name()), followsOlderTimeline(n, timeline)))
                .toList();
        Wal wal = p == null ? Wal.UNKNOWN : p.wal();
        if (wal.currentLsn() > 0 && wal.sampledAt().isAfter(Instant.EPOCH)) {
            primaryLsn = wal.currentLsn();
            primaryLsnSampledAt = nanoNow - Duration.between(wal.sampledAt(), wallNow).toNanos() - SAMPLE_TIME_MARGIN_NANOS;
        } else {
            primaryLsn = -1;
            primaryLsnSampledAt = nanoNow - Duration.ofDays(1).toNanos();
        }
    }

    /**
     * A standby still on a timeline older than the primary's follows a former primary (it was
     * down during a failover, or was not re-pointed): it cannot see the new primary's writes.
     */
    private static boolean followsOlderTimeline(Node standby, long primaryTimeline) {
        long t = standby.wal().timeline();
        return t > 0 && primaryTimeline > 0 && t < primaryTimeline;
    }

    /** A view of {@code topology}; {@code wallNow} and {@code nanoNow} are read together by the caller. */
    public static FailoverTopologyView of(Topology topology, Instant wallNow, long nanoNow) {
        return of(topology, wallNow, nanoNow, new RoutingCounters());
    }

    /** As {@link #of(Topology, Instant, long)}, with each node's load and counters from {@code counters}. */
    public static FailoverTopologyView of(Topology topology, Instant wallNow, long nanoNow, RoutingCounters counters) {
        return new FailoverTopologyView(topology, wallNow, nanoNow, counters);
    }

    /** The snapshot this view was made from. */
    public Topology topology() {
        return topology;
    }

    @Override
    public RoutedNode primary() {
        return primary;
    }

    @Override
    public List<RoutedNode> replicas() {
        return replicas;
    }

    @Override
    public long primaryLsn() {
        return primaryLsn;
    }

    @Override
    public long primaryLsnSampledAt() {
        return primaryLsnSampledAt;
    }

    /**
     * A node of the snapshot. A standby counts as healthy only once the monitor has seen it report
     * being one and sampled its replay position, and while it is on the primary's timeline: a
     * replica pgrelay cannot watch, or that follows a former primary, gets no reads.
     *
     * @param counters the node's load and routing counts, carried across snapshots
     * @param olderTimeline the standby is on a timeline older than the primary's
     */
    public record RoutedNode(Node node, NodeCounters counters, boolean olderTimeline) implements ReplicaView {
        @Override
        public String name() {
            return node.name();
        }

        @Override
        public boolean healthy() {
            return node.usable() && (node.isPrimary() || (node.discovered() && sampled() && !olderTimeline));
        }

        @Override
        public int weight() {
            return node.weight();
        }

        @Override
        public long replayLsn() {
            return sampled() && node.wal().replayLsn() > 0 ? node.wal().replayLsn() : -1;
        }

        @Override
        public long lagBytes() {
            return sampled() ? node.wal().lagBytes() : -1;
        }

        @Override
        public Duration lag() {
            return sampled() ? node.wal().lagTime() : null;
        }

        @Override
        public int outstanding() {
            return counters.outstanding();
        }

        @Override
        public long timesChosen() {
            return counters.timesChosen();
        }

        @Override
        public void raiseTimesChosen(long atLeast) {
            counters.raiseChosen(atLeast);
        }


        private boolean sampled() {
            return node.wal().sampledAt().isAfter(Instant.EPOCH);
        }
    }
}
