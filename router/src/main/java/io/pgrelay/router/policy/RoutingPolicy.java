package io.pgrelay.router.policy;

import io.pgrelay.router.RouteTarget;
import io.pgrelay.router.RoutingException;
import io.pgrelay.router.classify.Classification;
import io.pgrelay.router.classify.ClassifiedQuery;
import io.pgrelay.router.classify.Reason;
import io.pgrelay.router.sql.Hints;
import java.util.List;

/**
 * Decides the node for one statement from its classification, the client's state and a topology
 * snapshot (ARCHITECTURE.md, "Routing semantics"):
 * <ul>
 * <li>a statement that is not replica-safe runs on the primary;</li>
 * <li>a transaction stays on the node its first statement chose: a replica for a READ ONLY one, the
 *     primary otherwise (with {@code replica_until_write}, reads before its first write go to a replica);</li>
 * <li>a replica is eligible when healthy, weighted, within {@code max_replica_lag}, at or past the
 *     statement's {@code min_lsn}, and, in {@code session} consistency, past the primary position
 *     sampled after the client's last write ({@code /* pgrelay: replica *}{@code /} waives that last rule);</li>
 * <li>among eligible replicas the lowest outstanding / weight wins; ties go to the one furthest below
 *     its weighted share of reads so far, then in turn;</li>
 * <li>no eligible replica: the primary, or SQLSTATE 57P03 if so configured.</li>
 * </ul>
 * Shared by all event loops; holds no per-client state.
 */
public final class RoutingPolicy {
    static final String CONNECTION_FAILURE = "08006";
    static final String CANNOT_CONNECT_NOW = "57P03";

    /** How far behind the leading replica's share (reads per weight) a returning replica may start. */
    private static final double SHARE_CATCH_UP = 8;

    /** Replaced as a whole at a reload. */
    private volatile RoutingSettings settings;
    /** Rotates ties between equally loaded replicas; a racy increment only shifts the rotation. */
    private int turn;

    public RoutingPolicy(RoutingSettings settings) {
        this.settings = settings;
    }

    /** Applies {@code next} to the statements routed from now on (a reload). */
    public void settings(RoutingSettings next) {
        this.settings = next;
    }

    public StatementRoute route(ClassifiedQuery query, ClientRoutingState client, TopologyView topology) {
        return route(query.classification(), query.hints(), client, topology);
    }

    public StatementRoute route(Classification c, Hints hints, ClientRoutingState client, TopologyView topology) {
        if (client.transactionNode != null) {
            if (!c.replicaSafe() && countsAsWrite(c)) {
                client.wrote();
            }
            return new StatementRoute(client.transactionTarget, client.transactionNode, RouteReason.IN_TRANSACTION, c);
        }
        if (client.inTransaction()) {
            return firstInTransaction(c, hints, client, topology);
        }
        if (!c.replicaSafe()) {
            return primary(c, client, topology, RouteReason.CLASSIFIED_PRIMARY);
        }
        if (client.consistency() == Consistency.PRIMARY && !hints.replica()) {
            return primary(c, client, topology, RouteReason.CONSISTENCY_PRIMARY);
        }
        return replicaOrPrimary(c, hints, client, topology, RouteReason.REPLICA_READ, false);
    }

    private StatementRoute firstInTransaction(Classification c, Hints hints, ClientRoutingState client,
                                              TopologyView topology) {
        if (client.serializableTransaction()) {
            return client.pin(primary(c, client, topology, RouteReason.SERIALIZABLE_TRANSACTION));
        }
        if (client.readOnlyTransaction() && c.replicaSafe() && client.consistency() != Consistency.PRIMARY) {
            return client.pin(replicaOrPrimary(c, hints, client, topology, RouteReason.READ_ONLY_TRANSACTION, true));
        }
        if (settings.replicaUntilWrite() && c.replicaSafe() && !client.wroteInTransaction()
                && client.consistency() != Consistency.PRIMARY) {
            StatementRoute route = replicaOrPrimary(c, hints, client, topology, RouteReason.REPLICA_UNTIL_WRITE, true);
            if (route.target() == RouteTarget.REPLICA) {
                return route; // not pinned: the first write moves the rest of the transaction to the primary
            }
        }
        return client.pin(primary(c, client, topology, RouteReason.WRITE_TRANSACTION));
    }

    private StatementRoute primary(Classification c, ClientRoutingState client, TopologyView topology,
                                   RouteReason reason) {
        NodeView primary = topology.primary();
        if (primary == null || !primary.healthy()) {
            throw new RoutingException(CONNECTION_FAILURE, "no primary node is in service");
        }
        if (!c.replicaSafe() && countsAsWrite(c)) {
            client.wrote();
        }
        return new StatementRoute(RouteTarget.PRIMARY, primary, reason, c);
    }

    /** Statements that change no data do not start read-your-writes. */
    private static boolean countsAsWrite(Classification c) {
        return c.reason() != Reason.TRANSACTION_CONTROL && c.reason() != Reason.SESSION_COMMAND
                && c.reason() != Reason.EMPTY;
    }

    private StatementRoute replicaOrPrimary(Classification c, Hints hints, ClientRoutingState client,
                                            TopologyView topology, RouteReason onReplica, boolean inTransaction) {
        boolean session = client.consistency() == Consistency.SESSION && !hints.replica();
        if (session && !client.resolve(topology)) {
            return primary(c, client, topology, RouteReason.READ_YOUR_WRITES);
        }
        long sessionLsn = session ? client.requiredLsn() : -1;
        long minLsn = hints.minLsn();
        List<? extends ReplicaView> replicas = topology.replicas();
        int n = replicas.size();
        ReplicaView best = null;
        RouteReason miss = RouteReason.NO_REPLICA_ELIGIBLE;
        catchUp(replicas);
        int start = n == 0 ? 0 : Math.floorMod(turn++, n);
        for (int k = 0; k < n; k++) {
            ReplicaView r = replicas.get((start + k) % n);
            if (!eligible(r)) {
                continue;
            }
            if (r.replayLsn() < minLsn) {
                miss = RouteReason.MIN_LSN_NOT_REACHED;
                continue;
            }
            if (r.replayLsn() < sessionLsn) {
                miss = RouteReason.READ_YOUR_WRITES;
                continue;
            }
            if (best == null || better(r, best)) {
                best = r;
            }
        }
        if (best != null) {
            return new StatementRoute(RouteTarget.REPLICA, best, onReplica, c);
        }
        if (miss == RouteReason.NO_REPLICA_ELIGIBLE && settings.errorWhenNoReplica() && !inTransaction) {
            throw new RoutingException(CANNOT_CONNECT_NOW, "no replica can take this read: none is healthy and within "
                    + "routing.max_replica_lag and routing.max_replica_lag_time, and routing.on_no_replica is error");
        }
        return primary(c, client, topology, miss);
    }

    /**
     * The lower load (work in flight per weight) wins; between equally loaded replicas (all idle,
     * say) the one furthest below its weighted share of reads so far, so idle replicas take reads in
     * proportion to their weights and busy ones in proportion to what they can take.
     */
    private static boolean better(ReplicaView r, ReplicaView best) {
        long load = (long) r.outstanding() * best.weight() - (long) best.outstanding() * r.weight();
        if (load != 0) {
            return load < 0;
        }
        return share(r) < share(best);
    }

    /**
     * A replica back from an outage (or newly added) is raised to at most SHARE_CATCH_UP reads per
     * weight behind the leading one, so it does not take every read until its total catches up.
     * Raising to a floor is idempotent, so routing a statement again for bookkeeping changes nothing.
     */
    private void catchUp(List<? extends ReplicaView> replicas) {
        // Indexed loops: no iterator per routed read.
        double leading = 0;
        for (int k = 0; k < replicas.size(); k++) {
            ReplicaView r = replicas.get(k);
            if (eligible(r)) {
                leading = Math.max(leading, share(r));
            }
        }
        for (int k = 0; k < replicas.size(); k++) {
            ReplicaView r = replicas.get(k);
            if (eligible(r)) {
                r.raiseTimesChosen((long) Math.ceil((leading - SHARE_CATCH_UP) * r.weight()) - 1);
            }
        }
    }

    /** Reads sent so far per unit of weight, counting the one about to be sent. */
    private static double share(ReplicaView r) {
        return (r.timesChosen() + 1) / (double) r.weight();
    }

    /** Healthy, weighted and within max_replica_lag: eligible for anyone's reads. */
    private boolean eligible(ReplicaView r) {
        if (!r.healthy() || r.weight() <= 0) {
            return false;
        }
        if (settings.maxLagBytes() > 0 && (r.lagBytes() < 0 || r.lagBytes() > settings.maxLagBytes())) {
            return false;
        }
        return settings.maxLag() == null || (r.lag() != null && r.lag().compareTo(settings.maxLag()) <= 0);
    }
}
