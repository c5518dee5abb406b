package io.pgrelay.failover;

import io.pgrelay.conf.NodeConfig;
import io.pgrelay.conf.NodeRole;
import java.time.Instant;

/**
 * What pgrelay knows of one node at one moment: its address, the role it plays, its state, why
 * and since when it is in that state, and its replication position.
 *
 * @param role       the role the node reports ({@code pg_is_in_recovery()}); the configured role
 *                   until the first health check answers
 * @param weight     share of replica reads
 * @param priority   failover preference among equally advanced standbys; 0 never promoted
 * @param state      whether work may go to the node
 * @param reason     why it is in that state, for logs and {@code pgrelay nodes}
 * @param since      when it entered that state
 * @param discovered whether {@link #role} comes from the node itself
 * @param wal        replication position as last sampled
 */
public record Node(String name, String host, int port, NodeRole role, int weight, int priority, NodeState state,
                   String reason, Instant since, boolean discovered, Wal wal) {

    /** A node as configured, before any health check has run. */
    public static Node configured(NodeConfig config, Instant now) {
        return new Node(config.name(), config.host(), config.port(), config.role(), config.weight(),
                config.priority(), NodeState.UP, "configured", now, false, Wal.UNKNOWN);
    }

    public boolean isPrimary() {
        return role == NodeRole.PRIMARY;
    }

    /** True when queries may be sent to this node. */
    public boolean usable() {
        return state == NodeState.UP;
    }

    /** The same node in {@code newState}; {@code since} moves only when the state changes. */
    public Node withState(NodeState newState, String newReason, Instant now) {
        return new Node(name, host, port, role, weight, priority, newState, newReason,
                newState == state ? since : now, discovered, wal);
    }

    /** The same node with the role it reported and its position. */
    public Node withObserved(NodeRole newRole, Wal newWal) {
        return new Node(name, host, port, newRole, weight, priority, state, reason, since, true, newWal);
    }

    @Override
    public String toString() {
        return name + " " + host + ":" + port + " " + role + " " + state + " (" + reason + ")";
    }
}
