package io.pgrelay.failover;

import io.pgrelay.conf.NodeConfig;
import io.pgrelay.conf.NodeRole;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * An immutable snapshot of all nodes. Readers hold a snapshot for as long as they need it; a
 * change publishes a new one (see {@link TopologyHolder}).
 */
public record Topology(long version, List<Node> nodes) {
    public Topology {
        nodes = List.copyOf(nodes);
    }

    public static Topology fromConfig(List<NodeConfig> configs, Instant now) {
        return new Topology(1, configs.stream().map(c -> Node.configured(c, now)).toList());
    }

    /**
     * The primary, if one is known and in service; a node that reported being the primary is
     * preferred to one only configured as primary and not yet checked.
     */
    public Optional<Node> primary() {
        return nodes.stream().filter(n -> n.isPrimary() && n.usable()).min(Comparator.comparing(n -> !n.discovered()));
    }

    /** Every node not acting as primary, in service or not. */
    public List<Node> replicas() {
        return nodes.stream().filter(n -> !n.isPrimary()).toList();
    }

    /** Standbys in service. */
    public List<Node> usableReplicas() {
        return nodes.stream().filter(n -> n.role() == NodeRole.REPLICA && n.usable()).toList();
    }

    public Optional<Node> node(String name) {
        return nodes.stream().filter(n -> n.name().equals(name)).findFirst();
    }

    /** A new snapshot with one node replaced. */
    public Topology with(Node changed) {
        return new Topology(version + 1, nodes.stream().map(n -> n.name().equals(changed.name()) ? changed : n).toList());
    }

    /** A new snapshot with the node named {@code name} changed; this one if there is no such node. */
    public Topology with(String name, UnaryOperator<Node> change) {
        return node(name).map(n -> with(change.apply(n))).orElse(this);
    }
}
