package io.pgrelay.failover;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Holds the current {@link Topology}; readers never lock, writers swap whole snapshots. Each node
 * whose state or role a swap changes is logged in one line and passed to the listeners.
 */
public final class TopologyHolder {
    private static final Logger log = LoggerFactory.getLogger(TopologyHolder.class);

    private volatile Topology current;
    private final List<Consumer<NodeChange>> listeners = new CopyOnWriteArrayList<>();

    public TopologyHolder(Topology initial) {
        this.current = initial;
    }

    public Topology current() {
        return current;
    }

    /**
     * Applies {@code change} and returns the snapshot it published. Writers take turns, so
     * {@code change} runs exactly once against the latest snapshot and listeners see changes in
     * the order they were made.
     */
    public synchronized Topology update(UnaryOperator<Topology> change) {
        Topology before = current;
        Topology after = change.apply(before);
        if (after == before) {
            return before;
        }
        current = after;
        for (Node node : after.nodes()) {
            before.node(node.name())
                    .filter(old -> old.state() != node.state() || old.role() != node.role())
                    .ifPresent(old -> announce(new NodeChange(old, node, after)));
        }
        return after;
    }

    /**
     * Calls {@code listener} with every state or role change from now on, on the thread that made
     * the change, while other changes wait: it must be quick and must not block.
     *
     * @return unsubscribes the listener
     */
    public Runnable subscribe(Consumer<NodeChange> listener) {
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    private void announce(NodeChange change) {
        if (change.after().state() == NodeState.UP) {
            log.info("{}", change);
        } else {
            log.warn("{}", change);
        }
        for (Consumer<NodeChange> listener : listeners) {
            try {
                listener.accept(change);
            } catch (RuntimeException e) {
                // One broken listener must not stop the others nor the writer.
                log.error("topology listener failed on {}", change, e);
            }
        }
    }
}
