package io.pgrelay.router;

import io.pgrelay.failover.Node;
import io.pgrelay.failover.Topology;
import io.pgrelay.failover.TopologyHolder;

/**
 * Decides where work runs, from a topology snapshot read without locks. In session pooling a
 * whole session runs on the primary: a session may write at any moment, and its writes and
 * reads must see each other. Statement-level read/write splitting builds on this.
 */
public final class Router {
    /** SQLSTATE 08006 (connection failure): what a client sees when no primary is in service. */
    static final String CONNECTION_FAILURE = "08006";

    private final TopologyHolder topology;

    public Router(TopologyHolder topology) {
        this.topology = topology;
    }

    /** The node for a new session. */
    public RoutingDecision routeSession() {
        Topology snapshot = topology.current();
        Node primary = snapshot.primary().orElseThrow(() -> new RoutingException(CONNECTION_FAILURE,
                "no primary node is in service (topology version " + snapshot.version() + ")"));
        return new RoutingDecision(RouteTarget.PRIMARY, primary, "session pooling: sessions run on the primary");
    }
}
