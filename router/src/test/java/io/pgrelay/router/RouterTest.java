package io.pgrelay.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.pgrelay.conf.NodeConfig;
import io.pgrelay.conf.NodeRole;
import io.pgrelay.failover.NodeState;
import io.pgrelay.failover.Topology;
import io.pgrelay.failover.TopologyHolder;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class RouterTest {
    private final Instant now = Instant.parse("2026-11-22T00:00:00Z");
    private final TopologyHolder holder = new TopologyHolder(Topology.fromConfig(List.of(
            new NodeConfig("replica1", "127.0.0.1", 5433, NodeRole.REPLICA, 1),
            new NodeConfig("primary", "127.0.0.1", 5432, NodeRole.PRIMARY, 1)), now));
    private final Router router = new Router(holder);

    @Test
    void sessionsGoToThePrimary() {
        RoutingDecision decision = router.routeSession();
        assertEquals(RouteTarget.PRIMARY, decision.target());
        assertEquals("primary", decision.node().name());
        assertEquals(5432, decision.node().port());
    }

    @Test
    void noPrimaryInServiceIsAConnectionFailure() {
        holder.update(t -> t.with(t.node("primary").orElseThrow().withState(NodeState.DOWN, "refused", now)));
        RoutingException e = assertThrows(RoutingException.class, router::routeSession);
        assertEquals("08006", e.sqlState());
    }
}
