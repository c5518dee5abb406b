package io.pgrelay.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.conf.NodeConfig;
import io.pgrelay.conf.NodeRole;
import io.pgrelay.failover.Node;
import io.pgrelay.failover.NodeState;
import io.pgrelay.failover.Topology;
import io.pgrelay.failover.Wal;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class FailoverTopologyViewTest {
    private final Instant now = Instant.parse("2026-11-22T00:00:00Z");
    private final Topology configured = Topology.fromConfig(List.of(
            new NodeConfig("primary", "127.0.0.1", 5432, NodeRole.PRIMARY, 1),
            new NodeConfig("replica1", "127.0.0.1", 5433, NodeRole.REPLICA, 2)), now);

    private static Wal primaryWal(long lsn, Instant at) {
        return new Wal(1, lsn, 0, 0, 0, Duration.ZERO, List.of(), at);
    }

    private static Wal replicaWal(long replay, long lagBytes, Instant at) {
        return new Wal(1, 0, replay, replay, lagBytes, Duration.ofMillis(5), List.of(), at);
    }

    @Test
    void aReplicaNeverSampledTakesNoReadsAndItsPositionsAreUnknown() {
        FailoverTopologyView view = FailoverTopologyView.of(configured, now, 0);
        FailoverTopologyView.RoutedNode replica = view.replicas().getFirst();
        assertFalse(replica.healthy());
        assertEquals(-1, replica.replayLsn());
        assertEquals(-1, replica.lagBytes());
        assertNull(replica.lag());
        assertTrue(view.primary().healthy(), "the configured primary serves until the monitor says otherwise");
        assertEquals(-1, view.primaryLsn());
    }

    @Test
    void aSampledStandbyIsEligibleWithItsPositions() {
        Topology t = configured.with("replica1", n -> n.withObserved(NodeRole.REPLICA, replicaWal(900, 100, now)));
        FailoverTopologyView.RoutedNode replica = FailoverTopologyView.of(t, now, 0).replicas().getFirst();
        assertTrue(replica.healthy());
        assertEquals(900, replica.replayLsn());
        assertEquals(100, replica.lagBytes());
        assertEquals(2, replica.weight());
        assertEquals(5433, replica.node().port());
    }

    @Test
    void aDownStandbyIsNotHealthy() {
        Topology t = configured.with("replica1", n -> n.withObserved(NodeRole.REPLICA, replicaWal(900, 0, now))
                .withState(NodeState.DOWN, "refused", now));
        assertFalse(FailoverTopologyView.of(t, now, 0).replicas().getFirst().healthy());
    }

    @Test
    void thePrimarySampleTimeMovesToTheNanoScaleNeverLater() {
        Instant sampled = now.minusMillis(30);
        Topology t = configured.with("primary", n -> n.withObserved(NodeRole.PRIMARY, primaryWal(1000, sampled)));
        long nanoNow = 5_000_000_000L;
        FailoverTopologyView view = FailoverTopologyView.of(t, now, nanoNow);
        assertEquals(1000, view.primaryLsn());
        assertEquals(nanoNow - Duration.ofMillis(30).toNanos() - FailoverTopologyView.SAMPLE_TIME_MARGIN_NANOS,
                view.primaryLsnSampledAt());
        assertEquals("primary", view.primary().name());
    }

    @Test
    void aStandbyOnAnOlderTimelineThanThePrimaryTakesNoReads() {
        Wal promoted = new Wal(2, 5000, 0, 0, 0, Duration.ZERO, List.of(), now);
        Topology t = configured.with("primary", n -> n.withObserved(NodeRole.PRIMARY, promoted))
                .with("replica1", n -> n.withObserved(NodeRole.REPLICA, replicaWal(900, 0, now)));
        FailoverTopologyView.RoutedNode stale = FailoverTopologyView.of(t, now, 0).replicas().getFirst();
        assertTrue(stale.olderTimeline());
        assertFalse(stale.healthy(), "replica1 follows timeline 1, the primary writes timeline 2");

        Wal following = new Wal(2, 0, 4000, 4000, 1000, Duration.ZERO, List.of(), now);
        Topology caughtOn = t.with("replica1", n -> n.withObserved(NodeRole.REPLICA, following));
        assertTrue(FailoverTopologyView.of(caughtOn, now, 0).replicas().getFirst().healthy());
    }
}
