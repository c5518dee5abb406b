package io.pgrelay.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.conf.NodeConfig;
import io.pgrelay.conf.NodeRole;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class TopologyTest {
    private final Instant now = Instant.parse("2026-11-22T00:00:00Z");
    private final Topology topology = Topology.fromConfig(List.of(
            new NodeConfig("primary", "127.0.0.1", 5432, NodeRole.PRIMARY, 1),
            new NodeConfig("replica1", "127.0.0.1", 5433, NodeRole.REPLICA, 1)), now);

    @Test
    void configuredNodesStartUpAndThePrimaryIsFound() {
        assertEquals("primary", topology.primary().orElseThrow().name());
        assertEquals(List.of("replica1"), topology.replicas().stream().map(Node::name).toList());
        assertTrue(topology.nodes().stream().allMatch(Node::usable));
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
    void theHolderSwapsWholeSnapshots() {
        TopologyHolder holder = new TopologyHolder(topology);
        Topology published = holder.update(t -> t.with(t.node("replica1").orElseThrow()
                .withState(NodeState.DETACHED, "operator", now)));
        assertEquals(published, holder.current());
        assertEquals(NodeState.UP, topology.node("replica1").orElseThrow().state(), "old snapshots never change");
    }
}
