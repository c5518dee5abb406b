package io.pgrelay.failover;

import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;

/** Holds the current {@link Topology}; readers never lock, writers swap whole snapshots. */
public final class TopologyHolder {
    private final AtomicReference<Topology> current;

    public TopologyHolder(Topology initial) {
        this.current = new AtomicReference<>(initial);
    }

    public Topology current() {
        return current.get();
    }

    /** Applies {@code change} atomically and returns the snapshot it published. */
    public Topology update(UnaryOperator<Topology> change) {
        return current.updateAndGet(change);
    }
}
