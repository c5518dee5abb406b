package io.pgrelay.conf;

/**
 * Read/write splitting in transaction pooling (session pooling runs everything on the primary).
 *
 * @param consistency   how fresh a client's replica reads must be
 * @param maxReplicaLag a replica whose replay trails the primary by more bytes takes no reads; 0 for no limit
 */
public record RoutingConfig(Consistency consistency, long maxReplicaLag) {
    /** {@code routing.consistency}. */
    public enum Consistency {
        /** Read-your-writes: after a client's write, a replica serves it once it has replayed that write. */
        SESSION,
        /** Any replica within {@code max_replica_lag}. */
        EVENTUAL,
        /** Everything on the primary. */
        PRIMARY
    }
}
