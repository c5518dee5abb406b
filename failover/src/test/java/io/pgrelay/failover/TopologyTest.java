package io.pgrelay.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.conf.NodeConfig;
import io.pgrelay.conf.NodeRole;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TopologyTest {
    private final Instant now = Instant.parse("2026-11-22T00:00:00Z");
    private final Topology topology = Topology.fromConfig(List.of(
            new NodeConfig("primary", "127.0.0.1", 5432, NodeRole.PRIMARY, 1),
            new NodeConfig("replica1", "127.0.0.1", 5433, NodeRole.REPLICA, 1, 7)), now);

    @Test
    void configuredNodesStartUpAndThePrimaryIsFound() {
        assertEquals("primary", topology.primary().orElseThrow().name());
        assertEquals(List.of("replica1"), topology.replicas().stream().map(Node::name).toList());
        assertTrue(topology.nodes().stream().allMatch(Node::usable));
        assertEquals(7, topology.node("replica1").orElseThrow().priority());
    }

    @Test
    void aPrimaryThatIsDownIsNotOffered() {
        Node down = topology.node("primary").orElseThrow().withState(NodeState.DOWN, "connection refused", now);
        Topology next = topology.with(down);
        assertTrue(next.primary().isEmpty());
        assertEquals(topology.version() + 1, next.version());
        assertEquals(NodeState.DOWN, next.node("primary").orElseThrow().state());
    }

    @Test
    void aReportedPrimaryBeatsOneOnlyConfigured() {
        Topology next = topology.with("replica1", n -> n.withObserved(NodeRole.PRIMARY, Wal.UNKNOWN));
        assertEquals("replica1", next.primary().orElseThrow().name());
    }

    @Test
    void sinceMovesOnlyWithTheState() {
        Node up = topology.node("replica1").orElseThrow();
        Node later = up.withState(NodeState.UP, "health check passed", now.plusSeconds(5));
        assertEquals(now, later.since());
        assertEquals(now.plusSeconds(9), later.withState(NodeState.DOWN, "refused", now.plusSeconds(9)).since());
    }

    @Test
    void theHolderSwapsWholeSnapshotsAndAnnouncesStateChanges() {
        TopologyHolder holder = new TopologyHolder(topology);
        List<NodeChange> changes = new ArrayList<>();
        Runnable unsubscribe = holder.subscribe(changes::add);
        holder.update(t -> t.with("replica1", n -> n.withObserved(NodeRole.REPLICA,
                new Wal(1, 0, 100, 90, 10, Duration.ZERO, List.of(), now))));
        assertEquals(List.of(), changes, "a new position alone is no state change");
        Topology published = holder.update(t -> t.with(t.node("replica1").orElseThrow()
                .withState(NodeState.DETACHED, "operator", now)));
        assertEquals(published, holder.current());
        assertEquals(NodeState.UP, topology.node("replica1").orElseThrow().state(), "old snapshots never change");
        assertEquals(1, changes.size());
        assertEquals(NodeState.UP, changes.getFirst().before().state());
        assertEquals(NodeState.DETACHED, changes.getFirst().after().state());
        unsubscribe.run();
        holder.update(t -> t.with("replica1", n -> n.withState(NodeState.UP, "attached", now)));
        assertEquals(1, changes.size(), "no calls after unsubscribing");
    }
}
