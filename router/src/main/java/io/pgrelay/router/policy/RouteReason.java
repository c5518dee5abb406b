package io.pgrelay.router.policy;

/** Why the policy put a statement where it did, beyond the statement's own classification. */
public enum RouteReason {
    /** Replica-safe and a replica was eligible. */
    REPLICA_READ,
    /** The statement's classification requires the primary (see the classification's reason). */
    CLASSIFIED_PRIMARY,
    /** Later statements of a transaction stay where its first statement ran. */
    IN_TRANSACTION,
    /** A read-write transaction runs on the primary. */
    WRITE_TRANSACTION,
    /** A READ ONLY transaction runs whole on one replica. */
    READ_ONLY_TRANSACTION,
    /** A hot standby cannot run SERIALIZABLE transactions: they run on the primary, READ ONLY or not. */
    SERIALIZABLE_TRANSACTION,
    /** {@code replica_until_write}: a read before the transaction's first write. */
    REPLICA_UNTIL_WRITE,
    /** The client's consistency is {@code primary}. */
    CONSISTENCY_PRIMARY,
    /** Session consistency: no replica has replayed the client's last write yet. */
    READ_YOUR_WRITES,
    /** No replica has reached the statement's {@code min_lsn}. */
    MIN_LSN_NOT_REACHED,
    /** No replica is healthy, weighted and within {@code max_replica_lag}. */
    NO_REPLICA_ELIGIBLE
}
