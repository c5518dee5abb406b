package io.pgrelay.router.policy;

import java.util.List;

/** A snapshot of the nodes for one routing decision; read without locks. */
public interface TopologyView {
    /** The primary, or null when none is known. */
    NodeView primary();

    List<? extends ReplicaView> replicas();

    /** The primary's WAL position ({@code pg_current_wal_lsn()}) at its last sample, or -1. */
    long primaryLsn();

    /** {@link System#nanoTime()} when {@link #primaryLsn()} was sampled. */
    long primaryLsnSampledAt();
}
