package io.pgrelay.router.policy;

/** How fresh a client's replica reads must be. */
public enum Consistency {
    /** Read-your-writes: after a client's write commits, a replica serves it once it has replayed that write. */
    SESSION,
    /** Any replica within {@code max_replica_lag}. */
    EVENTUAL,
    /** Everything on the primary. */
    PRIMARY
}
