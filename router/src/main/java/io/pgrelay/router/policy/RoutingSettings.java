package io.pgrelay.router.policy;

import java.time.Duration;

/**
 * Routing options.
 *
 * @param replicaUntilWrite  {@code transaction_reads: replica_until_write} (pgpool's behaviour): in a
 *                           read-write transaction, reads before the first write run on a replica. Its
 *                           caveat: those reads see a replica snapshot, not the transaction's own, so
 *                           they may miss rows committed just before on the primary. Off by default.
 * @param maxLagBytes        a replica further behind takes no reads; 0 or less for no limit
 * @param maxLag             the same in time; null for no limit
 * @param errorWhenNoReplica a read for which no replica is eligible fails (57P03) instead of going to the primary
 */
public record RoutingSettings(boolean replicaUntilWrite, long maxLagBytes, Duration maxLag, boolean errorWhenNoReplica) {
    public static final RoutingSettings DEFAULTS = new RoutingSettings(false, 0, null, false);
}
