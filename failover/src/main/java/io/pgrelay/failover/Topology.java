package io.pgrelay.failover;

import io.pgrelay.conf.NodeConfig;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

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

    /** The primary, if one is known and in service. */
    public Optional<Node> primary() {
        return nodes.stream().filter(n -> n.isPrimary() && n.usable()).findFirst();
    }

    public List<Node> replicas() {
        return nodes.stream().filter(n -> !n.isPrimary()).toList();
    }

    public Optional<Node> node(String name) {
        return nodes.stream().filter(n -> n.name().equals(name)).findFirst();
    }

    /** A new snapshot with one node replaced. */
    public Topology with(Node changed) {
        return new Topology(version + 1, nodes.stream().map(n -> n.name().equals(changed.name()) ? changed : n).toList());
    }
}
