package io.pgrelay.it.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.conf.NodeRole;
import io.pgrelay.conf.PgRelayConfig;
import io.pgrelay.failover.FailoverService;
import io.pgrelay.failover.FailoverStatus;
import io.pgrelay.failover.Lsn;
import io.pgrelay.failover.Monitor;
import io.pgrelay.failover.Node;
import io.pgrelay.failover.NodeState;
import io.pgrelay.failover.OperationResult;
import io.pgrelay.failover.TopologyHolder;
import io.pgrelay.it.fixture.PgCluster;
import io.pgrelay.it.fixture.PgClusterSpec;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Automatic and manual failover against a real primary and two streaming replicas: the primary's
 * postmaster is SIGKILLed while a writer fills a ledger table.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
class FailoverIT {
    private static final PgClusterSpec TWO_REPLICAS = PgClusterSpec.defaults().withReplicas(2)
            .withBackend(PgClusterSpec.Backend.LOCAL);
    private static final Duration FAILOVER_BOUND = Duration.ofSeconds(15);

    @TempDir
    Path dir;

    @Test
    void synchronousFailoverKeepsEveryAcknowledgedRowFencesTheOldPrimaryAndRepointsTheOther() throws Exception {
        try (PgCluster pg = PgCluster.start(TWO_REPLICAS.withSynchronousStandbyNames("ANY 1 (replica1, replica2)"))) {
            createLedger(pg);
            PgRelayConfig config = Clusters.config(pg, Map.of());
            try (FailoverService failover = FailoverService.start(config)) {
                TopologyHolder holder = failover.topology();
                Clusters.awaitAllUp(holder);
                Writer writer = Writer.start(pg.primary());
                Killed k = killPrimaryWhileWriting(pg, holder, writer, 200);
                String promoted = k.promoted();
                System.out.printf("FailoverIT: sync: %s promoted; writable %d ms after SIGKILL; %d rows"
                        + " acknowledged; received LSNs at the kill %s%n", promoted, k.writableMs(),
                        writer.acked.size(), k.received());
                assertEveryRowPresent(pg, promoted, writer.acked);
                String other = promoted.equals("replica1") ? "replica2" : "replica1";
                Clusters.assertStreamsFrom(pg, promoted, other);
                assertEquals(1, failover.controller().status().failovers());

                Node old = holder.current().node("primary").orElseThrow();
                assertEquals(NodeState.FENCED, old.state());
                assertTrue(old.reason().contains("replaced by " + promoted), old.reason());

                // The old primary comes back as a primary on timeline 1: it stays fenced.
                pg.primary().start();
                Node back = Clusters.awaitNode(holder, "primary", Duration.ofSeconds(15), "seen again as primary",
                        n -> n.role() == NodeRole.PRIMARY && n.wal().timeline() == 1
                                && n.wal().sampledAt().isAfter(old.wal().sampledAt()));
                assertEquals(NodeState.FENCED, back.state());
                assertEquals(promoted, holder.current().primary().orElseThrow().name());
                assertEquals(2, holder.current().primary().orElseThrow().wal().timeline());

                OperationResult attach = failover.controller().attach("primary");
                assertFalse(attach.done(), attach::message);
                assertTrue(attach.message().contains("timeline 1, older than the primary " + promoted
                        + "'s timeline 2"), attach.message());
                OperationResult promote = failover.controller().promote("primary");
                assertFalse(promote.done(), promote::message);
                assertTrue(promote.message().contains(promoted + " is the primary in service"), promote.message());
                OperationResult detach = failover.controller().detach(promoted);
                assertFalse(detach.done(), detach::message);
                assertTrue(detach.message().contains("it is the primary in service"), detach.message());
                assertEquals(NodeState.FENCED, holder.current().node("primary").orElseThrow().state());
            }
        }
    }

    /**
     * Asynchronous replication; {@code -Dpgrelay.it.failoverRuns=5} repeats it on fresh clusters
     * and prints the time from SIGKILL to the first successful write on the new primary.
     */
    @Test
    void asynchronousFailoverPromotesTheMostAdvancedStandbyWithinGracePlusAFewSeconds() throws Exception {
        int runs = Integer.getInteger("pgrelay.it.failoverRuns", 1);
        List<Long> times = new ArrayList<>();
        for (int run = 1; run <= runs; run++) {
            try (PgCluster pg = PgCluster.start(TWO_REPLICAS)) {
                createLedger(pg);
                Path failoverOut = dir.resolve("failover-" + run + ".txt");
                Path downOut = dir.resolve("down-" + run + ".txt");
                PgRelayConfig config = Clusters.config(pg, Map.of(
                        "hooks.on_failover", "echo %{old_primary} %{new_primary} %{old_lsn} %{new_lsn} %{new_port} > "
                                + failoverOut,
                        "hooks.on_node_down", "echo %{node} %{port} >> " + downOut));
                try (FailoverService failover = FailoverService.start(config)) {
                    TopologyHolder holder = failover.topology();
                    Clusters.awaitAllUp(holder);
                    Killed k = killPrimaryWhileWriting(pg, holder, Writer.start(pg.primary()), 100);
                    String promoted = k.promoted();
                    times.add(k.writableMs());
                    Duration bound = config.failover().gracePeriod().plus(FAILOVER_BOUND);
                    assertTrue(k.writableMs() <= bound.toMillis(), "writable after " + k.writableMs() + " ms");
                    Clusters.assertStreamsFrom(pg, promoted, promoted.equals("replica1") ? "replica2" : "replica1");

                    Clusters.await(Duration.ofSeconds(5), "the on_failover hook's output", () -> Files.exists(failoverOut)
                            && Files.readString(failoverOut).endsWith("\n"));
                    String[] hook = Files.readString(failoverOut).strip().split(" ");
                    assertEquals(List.of("primary", promoted), List.of(hook[0], hook[1]));
                    assertTrue(Lsn.parse(hook[3]) >= Lsn.parse(hook[2]), "new LSN " + hook[3] + " old " + hook[2]);
                    assertEquals(Integer.toString(Clusters.node(pg, promoted).port()), hook[4]);
                    assertEquals("primary " + pg.primary().port(), Files.readString(downOut).strip());
                }
            }
        }
        System.out.printf("FailoverIT: SIGKILL of the primary -> first write on the new primary, %d run(s), grace"
                + " 2s, check 200ms x 2: %s ms%n", runs, times);
    }

    @Test
    void noStandbyWithinMaxLagMeansNoPromotionAndAnAlarm() throws Exception {
        try (PgCluster pg = PgCluster.start(TWO_REPLICAS)) {
            PgRelayConfig config = Clusters.config(pg, Map.of("failover.max_lag", "64kB",
                    "failover.grace_period", "500ms"));
            try (FailoverService failover = FailoverService.start(config)) {
                TopologyHolder holder = failover.topology();
                Clusters.awaitAllUp(holder);
                // Cut both standbys off, then write a few MB that only the primary has.
                for (PgCluster.Node r : pg.replicas()) {
                    try (Connection c = r.connect("postgres"); Statement st = c.createStatement()) {
                        st.execute("ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=1'");
                        st.execute("SELECT pg_reload_conf()");
                    }
                }
                Clusters.await(Duration.ofSeconds(10), "both standbys cut off", () -> {
                    try (Connection c = pg.primary().connect("postgres")) {
                        return Clusters.queryLong(c, "SELECT count(*) FROM pg_stat_replication") == 0;
                    }
                });
                long written;
                try (Connection c = pg.primary().connect("postgres"); Statement st = c.createStatement()) {
                    st.execute("CREATE TABLE bulk AS SELECT g, repeat('x', 100) AS pad FROM generate_series(1, 30000) g");
                    written = Clusters.queryLong(c, "SELECT (pg_current_wal_lsn() - '0/0')::bigint");
                }
                Clusters.awaitNode(holder, "primary", Duration.ofSeconds(5), "sampled at " + written,
                        n -> n.wal().currentLsn() >= written);
                pg.primary().kill();
                Clusters.await(Duration.ofSeconds(15), "a refusal", () -> failover.controller().status().refusals() == 1);
                FailoverStatus status = failover.controller().status();
                assertTrue(status.alarm().contains("more than failover.max_lag 65536"), status.alarm());
                assertEquals(0, status.failovers());
                assertTrue(holder.current().primary().isEmpty());
                assertEquals(NodeState.DOWN, holder.current().node("primary").orElseThrow().state());
                for (PgCluster.Node r : pg.replicas()) {
                    try (Connection c = r.connect("postgres")) {
                        assertEquals("t", Clusters.queryString(c, "SELECT pg_is_in_recovery()"), r.name());
                    }
                }
                OperationResult manual = failover.controller().promote("replica1");
                assertFalse(manual.done(), manual::message);
                assertTrue(manual.message().contains("failover.max_lag"), manual.message());
            }
        }
    }

    @Test
    void aStandbyPromotedBehindPgrelaysBackWinsByItsNewerTimelineAndTheOldPrimaryIsFenced() throws Exception {
        try (PgCluster pg = PgCluster.start(TWO_REPLICAS.withReplicas(1))) {
            PgRelayConfig config = Clusters.config(pg, Map.of());
            TopologyHolder holder = Clusters.holder(pg);
            try (Monitor monitor = Clusters.monitor(holder, config)) {
                Clusters.awaitNode(holder, "replica1", Duration.ofSeconds(10), "a sampled standby",
                        n -> n.discovered() && n.role() == NodeRole.REPLICA);
                try (Connection c = pg.replicas().get(0).connect("postgres"); Statement st = c.createStatement()) {
                    st.execute("SELECT pg_promote(true, 30)");
                }
                Node fenced = Clusters.awaitNode(holder, "primary", Duration.ofSeconds(10), "fenced",
                        n -> n.state() == NodeState.FENCED);
                assertTrue(fenced.reason().contains("split brain: reports being a primary on timeline 1 while"
                        + " replica1 is the primary on timeline 2"), fenced.reason());
                Node winner = holder.current().primary().orElseThrow();
                assertEquals("replica1", winner.name());
                assertEquals(2, winner.wal().timeline());
                // Both still answer as primaries; checks that pass afterwards leave the loser fenced.
                Instant twoChecksLater = fenced.since().plus(config.healthCheck().period().multipliedBy(2));
                Node later = Clusters.awaitNode(holder, "primary", Duration.ofSeconds(5), "checked again",
                        n -> n.wal().sampledAt().isAfter(twoChecksLater));
                assertEquals(NodeState.FENCED, later.state());
                assertEquals(NodeRole.PRIMARY, later.role());
            }
        }
    }

    @Test
    void withFailoverDisabledNothingIsPromotedUntilTheOperatorAsks() throws Exception {
        try (PgCluster pg = PgCluster.start(TWO_REPLICAS)) {
            PgRelayConfig config = Clusters.config(pg, Map.of("failover.enabled", "false",
                    "failover.grace_period", "500ms"));
            try (FailoverService failover = FailoverService.start(config)) {
                TopologyHolder holder = failover.topology();
                Clusters.awaitAllUp(holder);
                pg.primary().kill();
                Clusters.await(Duration.ofSeconds(10), "the alarm for a primary left down",
                        () -> failover.controller().status().alarm().contains("failover.enabled is false"));
                assertTrue(holder.current().primary().isEmpty());
                assertEquals(0, failover.controller().status().failovers());

                OperationResult refused = failover.controller().promote("nosuchnode");
                assertFalse(refused.done());
                assertTrue(refused.message().contains("nodes: primary, replica1, replica2"), refused.message());
                assertTrue(failover.controller().detach("replica1").done());
                OperationResult detached = failover.controller().promote("replica1");
                assertFalse(detached.done(), detached::message);
                assertTrue(detached.message().contains("not a standby in service"), detached.message());

                OperationResult promoted = failover.controller().promote("replica2");
                assertTrue(promoted.done(), promoted::message);
                assertEquals("replica2", holder.current().primary().orElseThrow().name());
                assertEquals(NodeState.FENCED, holder.current().node("primary").orElseThrow().state());
                // A detached standby is re-pointed too; it then rejoins on the new timeline.
                Clusters.assertStreamsFrom(pg, "replica2", "replica1");
                Clusters.await(Duration.ofSeconds(15), "replica1 on timeline 2", () -> {
                    try (Connection c = Clusters.node(pg, "replica1").connect("postgres")) {
                        return Clusters.queryLong(c, "SELECT received_tli FROM pg_stat_wal_receiver") == 2;
                    }
                });
                OperationResult attached = failover.controller().attach("replica1");
                assertTrue(attached.done(), attached::message);
                assertEquals(NodeState.UP, holder.current().node("replica1").orElseThrow().state());
            }
        }
    }

    // ---- helpers

    /**
     * What a kill of the primary led to.
     *
     * @param received   each standby's received WAL right after the kill
     * @param writableMs from the kill to the first committed INSERT on the new primary
     */
    private record Killed(String promoted, long writableMs, Map<String, Long> received) {
    }

    /**
     * Lets {@code writer} commit {@code rows} rows, SIGKILLs the primary, waits for the new
     * primary to take a write and checks it was the most advanced standby.
     */
    private static Killed killPrimaryWhileWriting(PgCluster pg, TopologyHolder holder, Writer writer, int rows)
            throws Exception {
        Clusters.await(Duration.ofSeconds(20), rows + " rows acknowledged", () -> writer.acked.size() >= rows);
        long killed = System.nanoTime();
        pg.primary().kill();
        Map<String, Long> received = Clusters.receivedLsns(pg);
        writer.stop();
        String promoted = awaitNewPrimary(holder, killed);
        long writableMs = awaitWritable(pg, holder, killed);
        long best = received.values().stream().mapToLong(Long::longValue).max().orElseThrow();
        assertEquals(best, received.get(promoted), "the most advanced standby is promoted: " + received);
        return new Killed(promoted, writableMs, received);
    }

    private static void createLedger(PgCluster pg) throws SQLException {
        try (Connection c = pg.primary().connect("postgres"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE ledger (id bigint PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())");
        }
    }

    private static String awaitNewPrimary(TopologyHolder holder, long killedNanos) throws InterruptedException {
        long deadline = killedNanos + FAILOVER_BOUND.plusSeconds(5).toNanos();
        while (System.nanoTime() - deadline < 0) {
            var primary = holder.current().primary();
            if (primary.isPresent() && !primary.get().name().equals("primary")) {
                return primary.get().name();
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no new primary: " + holder.current().nodes());
    }

    /** Milliseconds from the kill until an INSERT commits on the primary the topology names. */
    private static long awaitWritable(PgCluster pg, TopologyHolder holder, long killedNanos) throws Exception {
        long deadline = killedNanos + FAILOVER_BOUND.plusSeconds(5).toNanos();
        String lastError = "no primary in the topology";
        while (System.nanoTime() - deadline < 0) {
            Node primary = holder.current().primary().orElse(null);
            if (primary != null) {
                try (Connection c = Clusters.node(pg, primary.name()).connect("postgres"); Statement st = c.createStatement()) {
                    st.execute("INSERT INTO ledger (id) VALUES (-1)");
                    return (System.nanoTime() - killedNanos) / 1_000_000;
                } catch (SQLException e) {
                    lastError = primary.name() + ": " + e.getMessage();
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no write succeeded (" + lastError + "); topology " + holder.current().nodes());
    }

    private static void assertEveryRowPresent(PgCluster pg, String promoted, ConcurrentLinkedQueue<Long> acked)
            throws SQLException {
        Set<Long> present = new HashSet<>();
        try (Connection c = Clusters.node(pg, promoted).connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT id FROM ledger")) {
            while (rs.next()) {
                present.add(rs.getLong(1));
            }
        }
        List<Long> missing = new ArrayList<>();
        for (Long id : acked) {
            if (!present.contains(id)) {
                missing.add(id);
            }
        }
        assertEquals(List.of(), missing, "acknowledged rows missing on " + promoted + " (of " + acked.size() + ")");
        assertFalse(acked.isEmpty());
    }

    /** Inserts ledger rows one by one in autocommit on one node and remembers each acknowledged id. */
    private static final class Writer {
        final ConcurrentLinkedQueue<Long> acked = new ConcurrentLinkedQueue<>();
        private final AtomicBoolean stop = new AtomicBoolean();
        private final Thread thread;

        private Writer(PgCluster.Node node) {
            thread = new Thread(() -> run(node), "ledger-writer");
        }

        static Writer start(PgCluster.Node node) {
            Writer w = new Writer(node);
            w.thread.start();
            return w;
        }

        private void run(PgCluster.Node node) {
            try (Connection c = node.connect("postgres");
                 PreparedStatement ps = c.prepareStatement("INSERT INTO ledger (id) VALUES (?)")) {
                for (long id = 1; !stop.get(); id++) {
                    ps.setLong(1, id);
                    ps.executeUpdate();
                    acked.add(id);
                }
            } catch (SQLException e) {
                // Expected once the primary is killed: that commit was never acknowledged.
            }
        }

        void stop() throws InterruptedException {
            stop.set(true);
            thread.join(10_000);
            assertFalse(thread.isAlive(), "the writer did not stop");
        }
    }
}
