package io.pgrelay.failover;

import io.pgrelay.conf.NodeConfig;
import io.pgrelay.conf.NodeRole;
import java.time.Instant;

/**
 * What pgrelay knows of one node at one moment: its address, the role it plays, its state, and
 * why and since when it is in that state.
 */
public record Node(String name, String host, int port, NodeRole role, int weight, NodeState state,
                   String reason, Instant since) {

    /** A node as configured, before any health check has run. */
    public static Node configured(NodeConfig config, Instant now) {
        return new Node(config.name(), config.host(), config.port(), config.role(), config.weight(),
                NodeState.UP, "configured", now);
    }

    public boolean isPrimary() {
        return role == NodeRole.PRIMARY;
    }

    /** True when queries may be sent to this node. */
    public boolean usable() {
        return state == NodeState.UP;
    }

    public Node withState(NodeState newState, String newReason, Instant now) {
        return new Node(name, host, port, role, weight, newState, newReason, now);
    }
}
