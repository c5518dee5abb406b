package io.pgrelay.it.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.conf.NodeRole;
import io.pgrelay.failover.Node;
import io.pgrelay.failover.NodeState;
import io.pgrelay.failover.OperationResult;
import io.pgrelay.failover.TopologyHolder;
import io.pgrelay.it.fixture.PgCluster;
import io.pgrelay.it.fixture.PgClusterSpec;
import io.pgrelay.it.support.RelayHarness;
import io.pgrelay.it.tools.Pgbench;
import io.pgrelay.it.tools.ToolRunner.Result;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Failover as pgrelay's clients live it, on 1 primary + 2 streaming replicas with pgrelay in
 * front (transaction pooling): writers wait for the new primary instead of failing, the fenced
 * old primary gets nothing, and reads ride out a dead replica.
 */
@Timeout(value = 6, unit = TimeUnit.MINUTES)
class RelayFailoverIT {
    /** Autovacuum off, so that the restarted old primary's counters move only if a client reaches it. */
    private static final PgClusterSpec SPEC = PgClusterSpec.defaults().withReplicas(2)
            .withBackend(PgClusterSpec.Backend.LOCAL).withPrimaryConf("autovacuum = off");
    private static final Duration GRACE = Duration.ofSeconds(2);
    private static final Duration CHECK_PERIOD = Duration.ofMillis(200);
    private static final int CHECK_RETRIES = 2;
    private static final Duration CHECK_TIMEOUT = Duration.ofSeconds(1);
    /** scram_app logs in with session pooling: its login leases on the primary for the whole session. */
    private static final String SESSION_POOLED_USER = "users:\n  - {name: scram_app, pool_mode: session}\n";
    private static final Pattern CLIENT_ABORTED = Pattern.compile("client \\d+ .*aborted");
    private static final Pattern PROCESSED = Pattern.compile("number of transactions actually processed: (\\d+)");

    private static Map<String, String> settings(String consistency, Map<String, String> extra) {
        Map<String, String> s = new HashMap<>(Map.of(
                "pool.mode", "transaction",
                "pool.size", "8",
                "routing.consistency", consistency,
                "health_check.period", CHECK_PERIOD.toMillis() + "ms",
                "health_check.timeout", CHECK_TIMEOUT.toMillis() + "ms",
                "health_check.max_retries", Integer.toString(CHECK_RETRIES),
                "health_check.lsn_period", "50ms",
                "failover.grace_period", GRACE.toMillis() + "ms",
                "failover.wait_timeout", "20s"));
        s.putAll(extra);
        return s;
    }

    /**
     * pgbench TPC-B through pgrelay while the primary's postmaster is SIGKILLed; a prober writes
     * through pgrelay from the kill on. {@code -Dpgrelay.it.relayFailoverRuns=5} repeats it on
     * fresh clusters and prints the time from the kill to the first write pgrelay commits. The
     * first run then restarts the old primary and checks it gets no query.
     */
    @Test
    void pgbenchThroughPgrelayFollowsAKilledPrimaryToTheMostAdvancedStandby() throws Exception {
        int runs = Integer.getInteger("pgrelay.it.relayFailoverRuns", 1);
        List<Long> times = new ArrayList<>();
        for (int run = 1; run <= runs; run++) {
            try (RelayHarness h = RelayHarness.start(SPEC, settings("primary", Map.of()), SESSION_POOLED_USER)) {
                PgCluster pg = h.cluster();
                TopologyHolder holder = h.relay().topology();
                Pgbench.initialize(h);
                try (Connection c = h.connect(); Statement st = c.createStatement()) {
                    st.execute("CREATE TABLE probe (id serial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())");
                }
                pg.awaitReplicasCaughtUp(Duration.ofSeconds(30));
                Clusters.awaitAllUp(holder);

                ExecutorService bg = Executors.newSingleThreadExecutor();
                try {
                    Future<Result> bench = bg.submit(() -> Pgbench.run(h.port(), Duration.ofSeconds(90),
                            "-M", "simple", "-c", "4", "-j", "2", "-T", "12", "-n"));
                    try (Connection p = pg.primary().connect("app", "app", RelayHarness.APP_PASSWORD)) {
                        Clusters.await(Duration.ofSeconds(20), "pgbench under way",
                                () -> Clusters.queryLong(p, "SELECT count(*) FROM pgbench_history") >= 200);
                    }
                    Instant killedAt = Instant.now();
                    long killed = System.nanoTime();
                    pg.primary().kill();
                    Map<String, Long> received = Clusters.receivedLsns(pg);
                    long writableMs = firstWriteThroughPgrelay(h, killed);
                    times.add(writableMs);

                    String promoted = holder.current().primary().orElseThrow().name();
                    assertNotEquals("primary", promoted);
                    long best = received.values().stream().mapToLong(Long::longValue).max().orElseThrow();
                    assertEquals(best, received.get(promoted), "the most advanced standby is promoted: " + received);
                    assertTrue(writableMs <= GRACE.plusSeconds(10).toMillis(),
                            "first write through pgrelay " + writableMs + " ms after the kill");
                    Clusters.assertStreamsFrom(pg, promoted, promoted.equals("replica1") ? "replica2" : "replica1");

                    Result r = bench.get(120, TimeUnit.SECONDS);
                    Matcher processed = PROCESSED.matcher(r.stdout());
                    assertTrue(processed.find(), r::toString);
                    long aborted = r.stderr().lines().filter(l -> CLIENT_ABORTED.matcher(l).find()).count();
                    System.out.printf("RelayFailoverIT run %d: %s promoted, first write through pgrelay %d ms after"
                                    + " SIGKILL; pgbench processed %s transactions, %d of 4 clients aborted (exit %d)%n",
                            run, promoted, writableMs, processed.group(1), aborted, r.exitCode());
                    assertTrue(Long.parseLong(processed.group(1)) > 0, r::toString);
                    if (run == 1) {
                        theRestartedOldPrimaryIsFencedAndGetsNoQuery(h, killedAt, promoted);
                    }
                } finally {
                    bg.shutdownNow();
                }
            }
        }
        System.out.printf("RelayFailoverIT: SIGKILL of the primary -> first write committed through pgrelay, %d run(s),"
                + " grace %dms, check %dms x %d: %s ms%n", runs, GRACE.toMillis(), CHECK_PERIOD.toMillis(),
                CHECK_RETRIES, times);
    }

    /**
     * Writes through pgrelay, each on a fresh login, until one commits; pgrelay makes them wait
     * for the new primary, so an error here is a failure only if none succeeds in time.
     */
    private static long firstWriteThroughPgrelay(RelayHarness h, long killedNanos) throws Exception {
        long deadline = killedNanos + GRACE.plusSeconds(20).toNanos();
        List<String> errors = new ArrayList<>();
        while (System.nanoTime() - deadline < 0) {
            try (Connection c = h.connect(); Statement st = c.createStatement()) {
                st.execute("INSERT INTO probe DEFAULT VALUES");
                long ms = (System.nanoTime() - killedNanos) / 1_000_000;
                if (!errors.isEmpty()) {
                    System.out.println("RelayFailoverIT: writes that failed before the first success: " + errors);
                }
                return ms;
            } catch (SQLException e) {
                errors.add(e.getSQLState() + " " + e.getMessage());
                Thread.sleep(20);
            }
        }
        throw new AssertionError("no write through pgrelay succeeded; errors " + errors + "; topology "
                + h.relay().topology().current().nodes());
    }

    /** The old primary comes back on timeline 1: FENCED, no backend of pgrelay's, its counters unmoved. */
    private static void theRestartedOldPrimaryIsFencedAndGetsNoQuery(RelayHarness h, Instant killedAt, String promoted)
            throws Exception {
        PgCluster pg = h.cluster();
        TopologyHolder holder = h.relay().topology();
        pg.primary().start();
        Node back = Clusters.awaitNode(holder, "primary", Duration.ofSeconds(20), "seen again as a primary",
                n -> n.role() == NodeRole.PRIMARY && n.wal().timeline() == 1 && n.wal().sampledAt().isAfter(killedAt));
        assertEquals(NodeState.FENCED, back.state(), back::toString);

        List<Long> before = appCounters(pg.primary());
        long probesBefore;
        try (Connection c = Clusters.node(pg, promoted).connect("app")) {
            probesBefore = Clusters.queryLong(c, "SELECT count(*) FROM probe");
        }
        // Fresh logins, reads and writes, in transaction and session pooling.
        Properties session = new Properties();
        for (int i = 0; i < 20; i++) {
            try (Connection c = h.connect(); Statement st = c.createStatement()) {
                st.execute("INSERT INTO probe DEFAULT VALUES");
                try (ResultSet rs = st.executeQuery("SELECT count(*) FROM pgbench_accounts")) {
                    assertTrue(rs.next());
                }
            }
        }
        Result bench = Pgbench.run(h.port(), Duration.ofSeconds(30), "-M", "extended", "-c", "2", "-t", "50", "-n");
        Pgbench.assertNoFailures("after the failover", bench);
        try (Connection c = h.connect("scram_app", RelayHarness.SCRAM_PASSWORD, "scram_app", session);
             Statement st = c.createStatement()) {
            st.execute("CREATE TABLE IF NOT EXISTS session_probe (id int)");
            st.execute("INSERT INTO session_probe VALUES (1)");
            assertEquals(Clusters.node(pg, promoted).port(), port(st), "a session-pooled login lands on the new primary");
        }
        try (Connection c = Clusters.node(pg, promoted).connect("app")) {
            assertEquals(probesBefore + 20, Clusters.queryLong(c, "SELECT count(*) FROM probe"),
                    "the writes reached the new primary");
        }
        // A backend flushes its statistics when it goes idle for the first time and when it exits.
        Thread.sleep(1500);
        List<Long> after = appCounters(pg.primary());
        assertEquals(before, after, "pg_stat_database of app on the fenced old primary: xact_commit, xact_rollback,"
                + " tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted, backends");
        assertEquals(NodeState.FENCED, holder.current().node("primary").orElseThrow().state());

        OperationResult attach = h.relay().failover().controller().attach("primary");
        assertFalse(attach.done(), attach::message);
        assertTrue(attach.message().contains("timeline 1, older than the primary " + promoted + "'s timeline 2"),
                attach.message());
        System.out.println("RelayFailoverIT: fenced old primary's app counters before and after the workload: "
                + before + " / " + after + "; attach refused: " + attach.message());
    }

    /**
     * The old primary's own counters for database app, read from database postgres so that this
     * probe adds nothing to them, plus its backends on app.
     */
    private static List<Long> appCounters(PgCluster.Node node) throws SQLException {
        try (Connection c = node.connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted,"
                     + " tup_updated, tup_deleted,"
                     + " (SELECT count(*) FROM pg_stat_activity WHERE datname = 'app')"
                     + " FROM pg_stat_database WHERE datname = 'app'")) {
            assertTrue(rs.next(), "database app on " + node);
            List<Long> values = new ArrayList<>();
            for (int i = 1; i <= 8; i++) {
                values.add(rs.getLong(i));
            }
            return values;
        }
    }

    private static int port(Statement st) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT inet_server_port()")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    /**
     * With automatic failover off, a dead primary leaves pgrelay without one: reads keep going to
     * the replicas, writes and logins wait failover.wait_timeout and then fail naming it, and a
     * write that waits goes through once the operator promotes a standby.
     */
    @Test
    void withoutAPrimaryWritesWaitForOneWhileReadsGoOn() throws Exception {
        Map<String, String> s = settings("eventual", Map.of("failover.enabled", "false",
                "failover.wait_timeout", "3s", "failover.follow_primary", "false"));
        try (RelayHarness h = RelayHarness.start(SPEC, s, SESSION_POOLED_USER)) {
            PgCluster pg = h.cluster();
            TopologyHolder holder = h.relay().topology();
            try (Connection c = h.connect(); Statement st = c.createStatement()) {
                st.execute("CREATE TABLE t (id int)");
            }
            pg.awaitReplicasCaughtUp(Duration.ofSeconds(30));
            Clusters.awaitAllUp(holder);
            try (Connection reader = h.connect(); Connection writer = h.connect();
                 Statement r = reader.createStatement(); Statement w = writer.createStatement()) {
                pg.primary().kill();
                Clusters.awaitNode(holder, "primary", Duration.ofSeconds(5), "DOWN", n -> n.state() == NodeState.DOWN);

                long start = System.nanoTime();
                SQLException failed = assertThrows(SQLException.class, () -> w.execute("INSERT INTO t VALUES (1)"));
                long waitedMs = (System.nanoTime() - start) / 1_000_000;
                assertEquals("08006", failed.getSQLState(), failed::getMessage);
                assertTrue(failed.getMessage().contains("failover.wait_timeout 3000ms"), failed.getMessage());
                assertTrue(waitedMs >= 2900 && waitedMs < 8000, "the write waited " + waitedMs + " ms");

                int replicaPort = port(r);
                assertTrue(pg.replicas().stream().anyMatch(n -> n.port() == replicaPort), "read on " + replicaPort);

                SQLException login = assertThrows(SQLException.class,
                        () -> h.connect("scram_app", RelayHarness.SCRAM_PASSWORD, "scram_app", new Properties()).close());
                assertEquals("57P03", login.getSQLState(), login::getMessage);
                assertTrue(login.getMessage().contains("failover.wait_timeout"), login.getMessage());
            }

            // A write that starts waiting, then a promotion: it goes through, and reads never stopped.
            ExecutorService bg = Executors.newSingleThreadExecutor();
            // pgjdbc's own SET extra_float_digits would go to the primary like any SET: sent in the
            // startup packet instead, the login needs no primary.
            Properties noSetupQuery = new Properties();
            noSetupQuery.setProperty("assumeMinServerVersion", "15");
            try (Connection reader = h.connect("app", RelayHarness.APP_PASSWORD, "app", noSetupQuery);
                 Statement r = reader.createStatement();
                 Connection writer = h.connect("app", RelayHarness.APP_PASSWORD, "app", noSetupQuery);
                 Statement w = writer.createStatement()) {
                Future<Integer> write = bg.submit(() -> {
                    try (ResultSet rs = w.executeQuery("INSERT INTO t VALUES (2) RETURNING inet_server_port()")) {
                        rs.next();
                        return rs.getInt(1);
                    }
                });
                Thread.sleep(300);
                long readStart = System.nanoTime();
                port(r);
                long readMs = (System.nanoTime() - readStart) / 1_000_000;
                assertTrue(readMs < 1000, "a read while a write waits took " + readMs + " ms");
                assertFalse(write.isDone(), "the write waits for a primary");
                Instant promotedAt = Instant.now();
                OperationResult promoted = h.relay().failover().controller().promote("replica2");
                assertTrue(promoted.done(), promoted::message);
                assertEquals(Clusters.node(pg, "replica2").port(), write.get(10, TimeUnit.SECONDS));

                // Not re-pointed (follow_primary false), replica1 still follows the dead primary on
                // timeline 1: it takes no reads while the primary writes timeline 2.
                Clusters.awaitNode(holder, "replica1", Duration.ofSeconds(5), "sampled on timeline 1",
                        n -> n.usable() && n.wal().timeline() == 1 && n.wal().sampledAt().isAfter(promotedAt));
                for (int i = 0; i < 30; i++) {
                    assertEquals(Clusters.node(pg, "replica2").port(), port(r), "read " + i);
                }
            } finally {
                bg.shutdownNow();
            }
            try (Connection c = h.connect("scram_app", RelayHarness.SCRAM_PASSWORD, "scram_app", new Properties());
                 Statement st = c.createStatement()) {
                assertEquals(Clusters.node(pg, "replica2").port(), port(st), "session pooling logs in on the new primary");
            }
        }
    }

    /**
     * A replica SIGKILLed under autocommit read load: no read fails, the replica leaves rotation
     * within the detection time, and takes reads again once restarted.
     */
    @Test
    void aReplicaKilledUnderReadLoadCostsNoReadAndRejoins() throws Exception {
        try (RelayHarness h = RelayHarness.start(SPEC, settings("eventual", Map.of()), "")) {
            PgCluster pg = h.cluster();
            TopologyHolder holder = h.relay().topology();
            Clusters.awaitAllUp(holder);
            PgCluster.Node victim = Clusters.node(pg, "replica1");
            try (Readers readers = Readers.start(h, 4)) {
                readers.awaitReadsOn(victim.port(), 20, Duration.ofSeconds(10));

                // From the SIGKILL to the DOWN the monitor published; kill() itself returns only once
                // the processes are reaped.
                Instant killed = Instant.now();
                victim.kill();
                Node down = Clusters.awaitNode(holder, "replica1", Duration.ofSeconds(5), "DOWN",
                        n -> n.state() == NodeState.DOWN);
                long downMs = Duration.between(killed, down.since()).toMillis();
                Duration detection = CHECK_PERIOD.multipliedBy(CHECK_RETRIES).plus(CHECK_TIMEOUT);
                assertTrue(downMs <= detection.toMillis(), "replica1 left rotation " + downMs + " ms after the kill");

                long onVictim = readers.count(victim.port());
                long total = readers.total();
                Thread.sleep(1000);
                assertEquals(onVictim, readers.count(victim.port()), "no read reaches the dead replica");
                assertTrue(readers.total() > total + 20, "reads go on: " + readers.total() + " vs " + total + "; errors "
                        + readers.errors);

                Instant restarted = Instant.now();
                victim.start();
                Clusters.awaitNode(holder, "replica1", Duration.ofSeconds(20), "UP and sampled again",
                        n -> n.usable() && n.wal().sampledAt().isAfter(restarted));
                // With replica2 detached, reads that do not reach the rejoined replica1 fall back to
                // the primary: replica1 must take them.
                assertTrue(h.relay().failover().controller().detach("replica2").done());
                readers.awaitReadsOn(victim.port(), onVictim + 20, Duration.ofSeconds(15));
                readers.stop();
                System.out.printf("RelayFailoverIT: replica1 DOWN %d ms after SIGKILL (detection bound %d ms);"
                                + " %d reads, by port %s, errors %s%n", downMs, detection.toMillis(), readers.total(),
                        readers.byPort, readers.errors);
                // Reads whose connect failed go to the primary, and reads the dying replica dropped
                // unanswered run again there. Rarely (see docs/failover.md) a read already sent still
                // gets the dying backend's own FATAL 57P01, at most once per client and only before the
                // replica is DOWN; no other error is allowed.
                for (ReadError e : readers.errors) {
                    assertEquals("57P01", e.sqlState(), e::toString);
                    assertFalse(e.at().isBefore(killed) || e.at().isAfter(down.since().plusMillis(200)), e::toString);
                }
                assertTrue(readers.errors.size() <= 4, readers.errors::toString);
            }
        }
    }

    private record ReadError(Instant at, String sqlState, String message) {
    }

    /** Clients doing autocommit {@code SELECT inet_server_port()} through pgrelay, counted by port. */
    private static final class Readers implements AutoCloseable {
        private static final int MAX_READS_EACH = 200_000;
        private static final Duration MAX_TIME = Duration.ofSeconds(90);
        final Map<Integer, AtomicLong> byPort = new ConcurrentHashMap<>();
        final ConcurrentLinkedQueue<ReadError> errors = new ConcurrentLinkedQueue<>();
        private final AtomicBoolean stop = new AtomicBoolean();
        private final ExecutorService threads;

        private Readers(int n) {
            threads = Executors.newFixedThreadPool(n);
        }

        static Readers start(RelayHarness h, int n) {
            Readers readers = new Readers(n);
            for (int i = 0; i < n; i++) {
                readers.threads.execute(() -> readers.run(h));
            }
            return readers;
        }

        /** Reads until stopped; after an error, logs in again and goes on. */
        private void run(RelayHarness h) {
            long end = System.nanoTime() + MAX_TIME.toNanos();
            int reads = 0;
            while (reads < MAX_READS_EACH && !stop.get() && System.nanoTime() - end < 0) {
                try (Connection c = h.connect(); Statement st = c.createStatement()) {
                    for (; reads < MAX_READS_EACH && !stop.get() && System.nanoTime() - end < 0; reads++) {
                        byPort.computeIfAbsent(port(st), p -> new AtomicLong()).incrementAndGet();
                    }
                } catch (SQLException e) {
                    errors.add(new ReadError(Instant.now(), e.getSQLState(), e.getMessage()));
                    reads++;
                }
            }
        }

        long count(int port) {
            AtomicLong n = byPort.get(port);
            return n == null ? 0 : n.get();
        }

        long total() {
            return byPort.values().stream().mapToLong(AtomicLong::get).sum();
        }

        void awaitReadsOn(int port, long atLeast, Duration timeout) throws Exception {
            Clusters.await(timeout, "reads on port " + port + " reaching " + atLeast + " (now " + byPort + ", errors "
                    + errors + ")", () -> count(port) >= atLeast);
        }

        void stop() throws InterruptedException {
            stop.set(true);
            threads.shutdown();
            assertTrue(threads.awaitTermination(30, TimeUnit.SECONDS), "readers stopped");
        }

        @Override
        public void close() throws InterruptedException {
            stop();
        }
    }
}
