package io.pgrelay.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.conf.NodeConfig;
import io.pgrelay.conf.NodeRole;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class FencingTest {
    private final Instant now = Instant.parse("2026-11-22T00:00:00Z");
    private final Topology configured = Topology.fromConfig(List.of(
            new NodeConfig("a", "127.0.0.1", 5432, NodeRole.PRIMARY, 1),
            new NodeConfig("b", "127.0.0.1", 5433, NodeRole.REPLICA, 1),
            new NodeConfig("c", "127.0.0.1", 5434, NodeRole.REPLICA, 1)), now);

    private static Node primaryOn(Node n, long timeline) {
        return n.withObserved(NodeRole.PRIMARY, new Wal(timeline, 1000, 0, 0, 0, Duration.ZERO, List.of(), Instant.EPOCH));
    }

    private Topology observed(long timelineA, long timelineB) {
        return configured.with("a", n -> primaryOn(n, timelineA)).with("b", n -> primaryOn(n, timelineB));
    }

    @Test
    void theNewerTimelineWinsAndTheOtherIsFenced() {
        Topology t = Fencing.resolve(observed(1, 2), now);
        assertEquals(NodeState.FENCED, t.node("a").orElseThrow().state());
        assertTrue(t.node("a").orElseThrow().reason().contains("split brain"), t.node("a").orElseThrow()::reason);
        assertEquals("b", t.primary().orElseThrow().name());
        assertEquals(NodeState.UP, t.node("c").orElseThrow().state());
    }

    @Test
    void onEqualTimelinesTheLongerServingPrimaryWins() {
        Topology t = observed(3, 3).with("b", n -> n.withState(NodeState.DOWN, "x", now.plusSeconds(1))
                .withState(NodeState.UP, "back", now.plusSeconds(2)));
        Topology resolved = Fencing.resolve(t, now.plusSeconds(3));
        assertEquals("a", resolved.primary().orElseThrow().name());
        assertEquals(NodeState.FENCED, resolved.node("b").orElseThrow().state());
    }

    @Test
    void aRoleOnlyConfiguredNeverLoses() {
        Topology t = configured.with("b", n -> primaryOn(n, 1));
        assertSame(t, Fencing.resolve(t, now));
    }

    @Test
    void oneFencedFormerPrimaryIsNoSplitBrain() {
        Topology t = observed(1, 2).with("a", n -> n.withState(NodeState.FENCED, "replaced", now));
        assertSame(t, Fencing.resolve(t, now));
    }
}
