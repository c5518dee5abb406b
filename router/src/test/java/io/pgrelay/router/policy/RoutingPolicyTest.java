package io.pgrelay.router.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.router.RoutingException;
import io.pgrelay.router.classify.Classification;
import io.pgrelay.router.classify.Reason;
import io.pgrelay.router.sql.Hints;
import io.pgrelay.router.sql.StatementInfo;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class RoutingPolicyTest {
    record Node(String name, boolean healthy) implements NodeView {
    }

    record Replica(String name, boolean healthy, int weight, long replayLsn, long lagBytes, Duration lag,
                   int outstanding) implements ReplicaView {
        static Replica at(String name, long replayLsn) {
            return new Replica(name, true, 1, replayLsn, 0, Duration.ZERO, 0);
        }
    }

    record Topology(NodeView primary, List<Replica> replicas, long primaryLsn, long primaryLsnSampledAt)
            implements TopologyView {
    }

    static final Node PRIMARY = new Node("primary", true);
    static final Classification READ = new Classification(Reason.READ_ONLY_SELECT);
    static final Classification WRITE = new Classification(Reason.WRITE_DML, "insert");
    static final Classification SET = new Classification(Reason.SESSION_COMMAND, "set");

    private final RoutingPolicy policy = new RoutingPolicy(RoutingSettings.DEFAULTS);

    static Topology topology(Replica... replicas) {
        return new Topology(PRIMARY, List.of(replicas), 1000, 0);
    }

    private static String where(StatementRoute r) {
        return r.node().name() + " " + r.reason();
    }

    @Test
    void readsGoToAReplicaAndWritesToThePrimary() {
        ClientRoutingState client = new ClientRoutingState(Consistency.EVENTUAL);
        Topology t = topology(Replica.at("r1", 1000));
        assertEquals("r1 REPLICA_READ", where(policy.route(READ, Hints.NONE, client, t)));
        StatementRoute write = policy.route(WRITE, Hints.NONE, client, t);
        assertEquals("primary CLASSIFIED_PRIMARY", where(write));
        assertEquals("PRIMARY primary CLASSIFIED_PRIMARY [PRIMARY WRITE_DML (insert)]", write.toString());
    }

    @Test
    void lowestOutstandingPerWeightWinsAndTiesTakeTurns() {
        ClientRoutingState client = new ClientRoutingState(Consistency.EVENTUAL);
        Topology weighted = topology(new Replica("small", true, 1, 1000, 0, Duration.ZERO, 1),
                new Replica("big", true, 3, 1000, 0, Duration.ZERO, 2));
        for (int i = 0; i < 4; i++) {
            assertEquals("big REPLICA_READ", where(policy.route(READ, Hints.NONE, client, weighted)));
        }
        Topology busy = topology(new Replica("small", true, 1, 1000, 0, Duration.ZERO, 0),
                new Replica("big", true, 3, 1000, 0, Duration.ZERO, 5));
        assertEquals("small REPLICA_READ", where(policy.route(READ, Hints.NONE, client, busy)));
        Topology equal = topology(Replica.at("a", 1000), Replica.at("b", 1000));
        Set<String> chosen = new TreeSet<>();
        for (int i = 0; i < 4; i++) {
            chosen.add(policy.route(READ, Hints.NONE, client, equal).node().name());
        }
        assertEquals(Set.of("a", "b"), chosen);
    }

    @Test
    void unhealthyUnweightedAndLaggingReplicasGetNoReads() {
        RoutingPolicy strict = new RoutingPolicy(new RoutingSettings(false, 1_000_000, Duration.ofSeconds(5), false));
        ClientRoutingState client = new ClientRoutingState(Consistency.EVENTUAL);
        Topology t = topology(new Replica("down", false, 1, 1000, 0, Duration.ZERO, 0),
                new Replica("zero", true, 0, 1000, 0, Duration.ZERO, 0),
                new Replica("far", true, 1, 1000, 2_000_000, Duration.ZERO, 0),
                new Replica("late", true, 1, 1000, 0, Duration.ofSeconds(30), 0),
                new Replica("unknown", true, 1, 1000, -1, null, 0));
        assertEquals("primary NO_REPLICA_ELIGIBLE", where(strict.route(READ, Hints.NONE, client, t)));
        Topology ok = topology(new Replica("near", true, 1, 1000, 500_000, Duration.ofSeconds(1), 0));
        assertEquals("near REPLICA_READ", where(strict.route(READ, Hints.NONE, client, ok)));
    }

    @Test
    void noEligibleReplicaMayBeAnError() {
        RoutingPolicy failing = new RoutingPolicy(new RoutingSettings(false, 0, null, true));
        ClientRoutingState client = new ClientRoutingState(Consistency.EVENTUAL);
        RoutingException e = assertThrows(RoutingException.class,
                () -> failing.route(READ, Hints.NONE, client, topology()));
        assertEquals("57P03", e.sqlState());
        assertTrue(e.getMessage().contains("routing.on_no_replica is error"), e.getMessage());
        assertEquals("primary CLASSIFIED_PRIMARY", where(failing.route(WRITE, Hints.NONE, client, topology())));
    }

    @Test
    void noPrimaryInServiceFailsWritesButNotReplicaReads() {
        ClientRoutingState client = new ClientRoutingState(Consistency.EVENTUAL);
        Topology t = new Topology(new Node("primary", false), List.of(Replica.at("r1", 1000)), 1000, 0);
        assertEquals("r1 REPLICA_READ", where(policy.route(READ, Hints.NONE, client, t)));
        RoutingException e = assertThrows(RoutingException.class, () -> policy.route(WRITE, Hints.NONE, client, t));
        assertEquals("08006", e.sqlState());
    }

    @Test
    void sessionConsistencyReadsYourWrites() {
        ClientRoutingState client = new ClientRoutingState(Consistency.SESSION);
        Replica behind = Replica.at("r1", 900);
        Replica caughtUp = Replica.at("r1", 1000);
        assertEquals("r1 REPLICA_READ", where(policy.route(READ, Hints.NONE, client, topology(behind))));
        policy.route(WRITE, Hints.NONE, client, topology(behind));
        client.readyForQuery('I', 100);
        Topology sampledBeforeCommit = new Topology(PRIMARY, List.of(caughtUp), 1000, 50);
        assertEquals("primary READ_YOUR_WRITES", where(policy.route(READ, Hints.NONE, client, sampledBeforeCommit)));
        Topology sampledAfter = new Topology(PRIMARY, List.of(behind), 1000, 150);
        assertEquals("primary READ_YOUR_WRITES", where(policy.route(READ, Hints.NONE, client, sampledAfter)));
        assertEquals(1000, client.lastWriteLsn(sampledAfter));
        Topology replayed = new Topology(PRIMARY, List.of(caughtUp), 1200, 300);
        assertEquals("r1 REPLICA_READ", where(policy.route(READ, Hints.NONE, client, replayed)));
        ClientRoutingState other = new ClientRoutingState(Consistency.SESSION);
        assertEquals("r1 REPLICA_READ", where(policy.route(READ, Hints.NONE, other, topology(behind))),
                "another client's write does not hold this one back");
        assertEquals(-1, other.lastWriteLsn(topology(behind)));
    }

    @Test
    void sessionCommandsDoNotStartReadYourWrites() {
        ClientRoutingState client = new ClientRoutingState(Consistency.SESSION);
        Topology t = new Topology(PRIMARY, List.of(Replica.at("r1", 10)), 1000, 0);
        policy.route(SET, Hints.NONE, client, t);
        client.readyForQuery('I', 100);
        assertEquals("r1 REPLICA_READ", where(policy.route(READ, Hints.NONE, client, t)));
    }

    @Test
    void eventualConsistencyAndTheReplicaHintIgnoreTheClientsWrites() {
        ClientRoutingState eventual = new ClientRoutingState(Consistency.EVENTUAL);
        Topology t = new Topology(PRIMARY, List.of(Replica.at("r1", 10)), 1000, 0);
        policy.route(WRITE, Hints.NONE, eventual, t);
        eventual.readyForQuery('I', 100);
        assertEquals("r1 REPLICA_READ", where(policy.route(READ, Hints.NONE, eventual, t)));

        ClientRoutingState session = new ClientRoutingState(Consistency.SESSION);
        policy.route(WRITE, Hints.NONE, session, t);
        session.readyForQuery('I', 100);
        Hints replica = new Hints(false, false, true, Hints.NO_LSN);
        assertEquals("r1 REPLICA_READ", where(policy.route(READ, replica, session, t)));
        assertEquals("primary READ_YOUR_WRITES", where(policy.route(READ, Hints.NONE, session, t)));
    }

    @Test
    void primaryConsistencyKeepsReadsOnThePrimary() {
        ClientRoutingState client = new ClientRoutingState(Consistency.PRIMARY);
        Topology t = topology(Replica.at("r1", 1000));
        assertEquals("primary CONSISTENCY_PRIMARY", where(policy.route(READ, Hints.NONE, client, t)));
    }

    @Test
    void minLsnHintWaitsForAReplicaThatHasReplayedIt() {
        ClientRoutingState client = new ClientRoutingState(Consistency.EVENTUAL);
        Hints minLsn = new Hints(false, false, false, 5000);
        assertEquals("primary MIN_LSN_NOT_REACHED",
                where(policy.route(READ, minLsn, client, topology(Replica.at("r1", 4999)))));
        assertEquals("r2 REPLICA_READ",
                where(policy.route(READ, minLsn, client, topology(Replica.at("r1", 4999), Replica.at("r2", 5000)))));
    }

    @Test
    void aReadWriteTransactionRunsWholeOnThePrimary() {
        ClientRoutingState client = new ClientRoutingState(Consistency.EVENTUAL);
        Topology t = topology(Replica.at("r1", 1000));
        client.beginTransaction(false);
        assertEquals("primary WRITE_TRANSACTION", where(policy.route(READ, Hints.NONE, client, t)));
        client.readyForQuery('T', 10);
        assertEquals("primary IN_TRANSACTION", where(policy.route(READ, Hints.NONE, client, t)));
        client.readyForQuery('I', 20);
        assertEquals("r1 REPLICA_READ", where(policy.route(READ, Hints.NONE, client, t)));
    }

    @Test
    void aReadOnlyTransactionRunsWholeOnOneReplica() {
        ClientRoutingState client = new ClientRoutingState(Consistency.EVENTUAL);
        Topology t = topology(Replica.at("r1", 1000), Replica.at("r2", 1000));
        client.beginTransaction(true);
        StatementRoute first = policy.route(READ, Hints.NONE, client, t);
        assertEquals(RouteReason.READ_ONLY_TRANSACTION, first.reason());
        List<String> later = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            later.add(where(policy.route(READ, Hints.NONE, client, t)));
        }
        assertEquals(List.of(first.node().name() + " IN_TRANSACTION", first.node().name() + " IN_TRANSACTION",
                first.node().name() + " IN_TRANSACTION"), later);

        ClientRoutingState viaDefault = new ClientRoutingState(Consistency.EVENTUAL);
        viaDefault.defaultTransactionReadOnly(true);
        viaDefault.beginTransaction(false);
        assertEquals(RouteReason.READ_ONLY_TRANSACTION, policy.route(READ, Hints.NONE, viaDefault, t).reason());

        ClientRoutingState viaSet = new ClientRoutingState(Consistency.EVENTUAL);
        viaSet.beginTransaction(false);
        viaSet.transactionReadOnly();
        assertEquals(RouteReason.READ_ONLY_TRANSACTION, policy.route(READ, Hints.NONE, viaSet, t).reason());
    }

    @Test
    void replicaUntilWriteIsAnOptionThatEndsAtTheFirstWrite() {
        RoutingPolicy pgpoolLike = new RoutingPolicy(new RoutingSettings(true, 0, null, false));
        ClientRoutingState client = new ClientRoutingState(Consistency.EVENTUAL);
        Topology t = topology(Replica.at("r1", 1000));
        client.beginTransaction(false);
        assertEquals("r1 REPLICA_UNTIL_WRITE", where(pgpoolLike.route(READ, Hints.NONE, client, t)));
        assertEquals("r1 REPLICA_UNTIL_WRITE", where(pgpoolLike.route(READ, Hints.NONE, client, t)));
        assertEquals("primary WRITE_TRANSACTION", where(pgpoolLike.route(WRITE, Hints.NONE, client, t)));
        assertEquals("primary IN_TRANSACTION", where(pgpoolLike.route(READ, Hints.NONE, client, t)));
    }

    @Test
    void readWriteOverridesTheReadOnlyDefaultAndSerializableStaysOnThePrimary() {
        Topology t = topology(Replica.at("r1", 1000));
        ClientRoutingState readWrite = new ClientRoutingState(Consistency.EVENTUAL);
        readWrite.defaultTransactionReadOnly(true);
        readWrite.beginTransaction(StatementInfo.READ_WRITE);
        assertEquals("primary WRITE_TRANSACTION", where(policy.route(READ, Hints.NONE, readWrite, t)));

        ClientRoutingState serializable = new ClientRoutingState(Consistency.EVENTUAL);
        serializable.beginTransaction(StatementInfo.READ_ONLY | StatementInfo.SERIALIZABLE);
        assertEquals("primary SERIALIZABLE_TRANSACTION", where(policy.route(READ, Hints.NONE, serializable, t)));

        ClientRoutingState setLater = new ClientRoutingState(Consistency.EVENTUAL);
        setLater.beginTransaction(StatementInfo.READ_ONLY);
        setLater.transactionModes(StatementInfo.READ_WRITE);
        assertEquals("primary WRITE_TRANSACTION", where(policy.route(READ, Hints.NONE, setLater, t)),
                "the last access mode before the first statement wins");
    }

    record SharedTopology(List<? extends ReplicaView> replicas) implements TopologyView {
        public NodeView primary() {
            return PRIMARY;
        }

        public long primaryLsn() {
            return 1000;
        }

        public long primaryLsnSampledAt() {
            return 0;
        }
    }

    @Test
    void idleReplicasTakeReadsInProportionToTheirWeights() {
        ClientRoutingState client = new ClientRoutingState(Consistency.EVENTUAL);
        Counted one = new Counted("one", 1, 0);
        Counted two = new Counted("two", 2, 0);
        SharedTopology topology = new SharedTopology(List.of(one, two));
        for (int i = 0; i < 30; i++) {
            ((Counted) policy.route(READ, Hints.NONE, client, topology).node()).timesChosen++;
        }
        assertEquals(java.util.Map.of("one", 10L, "two", 20L),
                java.util.Map.of("one", one.timesChosen, "two", two.timesChosen));
    }

    /** An idle replica counting the reads sent to it, as the router's node counters do. */
    static final class Counted implements ReplicaView {
        final String name;
        final int weight;
        long timesChosen;

        Counted(String name, int weight, long timesChosen) {
            this.name = name;
            this.weight = weight;
            this.timesChosen = timesChosen;
        }

        public String name() {
            return name;
        }

        public boolean healthy() {
            return true;
        }

        public int weight() {
            return weight;
        }

        public long replayLsn() {
            return 1000;
        }

        public long lagBytes() {
            return 0;
        }

        public Duration lag() {
            return Duration.ZERO;
        }

        public int outstanding() {
            return 0;
        }

        public long timesChosen() {
            return timesChosen;
        }

        public void raiseTimesChosen(long atLeast) {
            timesChosen = Math.max(timesChosen, atLeast);
        }
    }

    @Test
    void aReplicaBackFromAnOutageCatchesUpOnlyABoundedNumberOfReads() {
        ClientRoutingState client = new ClientRoutingState(Consistency.EVENTUAL);
        Counted back = new Counted("back", 1, 0);
        Counted stayed = new Counted("stayed", 1, 1000);
        SharedTopology topology = new SharedTopology(List.of(back, stayed));
        int toBack = 0;
        for (int i = 0; i < 40; i++) {
            Counted picked = (Counted) policy.route(READ, Hints.NONE, client, topology).node();
            picked.timesChosen++;
            toBack += picked == back ? 1 : 0;
        }
        assertTrue(toBack >= 22 && toBack <= 25, "8 reads of catching up, then in turn; the returning replica got "
                + toBack + " of 40");
    }
}
