package io.pgrelay.router.stats;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * The {@link NodeCounters} of every node routing has seen, by node name. A node's counters are
 * made once, when a topology snapshot or a lease first names it, and kept for the life of the
 * process (node names are few), so totals never go backwards.
 */
public final class RoutingCounters {
    private final ConcurrentHashMap<String, NodeCounters> nodes = new ConcurrentHashMap<>();
    private final List<Consumer<NodeCounters>> listeners = new CopyOnWriteArrayList<>();

    /** The counters of {@code node}, made on first use. */
    public NodeCounters of(String node) {
        NodeCounters c = nodes.get(node);
        return c != null ? c : nodes.computeIfAbsent(node, this::create);
    }

    private NodeCounters create(String node) {
        NodeCounters c = new NodeCounters(node);
        listeners.forEach(l -> l.accept(c));
        return c;
    }

    /** Calls {@code listener} for every node's counters, those made so far and those made later. */
    public void forEachNode(Consumer<NodeCounters> listener) {
        listeners.add(listener);
        nodes.values().forEach(listener);
    }

    /** All nodes' counters, ordered by node name. */
    public List<NodeCounters> all() {
        List<NodeCounters> all = new ArrayList<>(nodes.values());
        all.sort(Comparator.comparing(NodeCounters::node));
        return all;
    }
}
