package io.pgrelay.it.routing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.failover.Node;
import io.pgrelay.failover.Topology;
import io.pgrelay.router.policy.RouteReason;
import io.pgrelay.router.stats.NodeCounters;
import io.pgrelay.it.fixture.PgClusterSpec;
import io.pgrelay.it.support.RelayHarness;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Properties;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Read/write splitting in transaction pooling against a primary and a replica that applies WAL
 * two seconds late: read-your-writes, reads on the replica, and a lagging replica left out.
 */
class ReadWriteSplittingIT {
    private static final long MAX_LAG = 64 * 1024;
    private static RelayHarness h;
    private static int primaryPort;
    private static int replicaPort;

    @BeforeAll
    static void start() throws Exception {
        h = RelayHarness.start(PgClusterSpec.defaults().withReplicas(1)
                        .withReplicaConf("recovery_min_apply_delay = '2s'"),
                Map.of("pool.mode", "transaction", "routing.consistency", "session",
                        "routing.max_replica_lag", Long.toString(MAX_LAG), "health_check.lsn_period", "20ms",
                        "admin.users", "app"),
                // Trust for app lets the raw protocol client below skip SCRAM.
                """
                auth:
                  rules:
                    - {user: app, method: trust}
                    - {method: scram-sha-256}
                """);
        primaryPort = h.cluster().primary().port();
        replicaPort = h.cluster().replicas().get(0).port();
        try (Connection c = h.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE rw (id int PRIMARY KEY, v text)");
            st.execute("CREATE TABLE pad (id int, v text)");
        }
        awaitOnReplica("SELECT count(*) FROM pg_class WHERE relname IN ('rw', 'pad')", 2);
    }

    @AfterAll
    static void stop() throws Exception {
        if (h != null) {
            h.close();
        }
    }

    @Test
    void aClientReadsItsOwnWritesAtOnce() throws Exception {
        int found = 0;
        try (Connection c = h.connect();
             PreparedStatement insert = c.prepareStatement("INSERT INTO rw VALUES (?, 'x')");
             PreparedStatement select = c.prepareStatement("SELECT count(*) FROM rw WHERE id = ?")) {
            for (int id = 1; id <= 100; id++) {
                insert.setInt(1, id);
                insert.executeUpdate();
                select.setInt(1, id);
                try (ResultSet rs = select.executeQuery()) {
                    rs.next();
                    found += rs.getInt(1);
                }
            }
        }
        assertEquals(100, found, "rows found right after their INSERT, out of 100");
        // The check means something only if the replica had not replayed the writes yet.
        try (Connection r = h.cluster().replicas().get(0).connect("app"); Statement st = r.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM rw WHERE id = 100")) {
            rs.next();
            assertEquals(0, rs.getInt(1), "the replica already had the last row: its apply delay did not hold");
        }
    }

    @Test
    void readsOfAClientThatHasNotWrittenRunOnTheReplica() throws Exception {
        awaitReplica(n -> n.wal().lagBytes() <= MAX_LAG, "within max_replica_lag");
        try (Connection c = h.connect(); Statement st = c.createStatement()) {
            for (int i = 0; i < 20; i++) {
                assertEquals(replicaPort, port(st), "read " + i);
            }
        }
    }

    @Test
    void aReplicaBeyondMaxReplicaLagGetsNoReads() throws Exception {
        awaitReplica(n -> n.wal().lagBytes() <= MAX_LAG, "within max_replica_lag");
        long written;
        try (Connection p = h.cluster().primary().connect("app"); Statement st = p.createStatement()) {
            st.execute("INSERT INTO pad SELECT g, repeat('x', 200) FROM generate_series(1, 5000) g");
            written = System.nanoTime();
        }
        // The replica applies nothing of that for two seconds: it lags by about 1.5MB until then.
        awaitReplica(n -> n.wal().lagBytes() > MAX_LAG, "beyond max_replica_lag");
        try (Connection c = h.connect(); Statement st = c.createStatement()) {
            for (int i = 0; i < 10; i++) {
                assertEquals(primaryPort, port(st), "read " + i + " while the replica lags");
            }
            long elapsed = Duration.ofNanos(System.nanoTime() - written).toMillis();
            assertTrue(elapsed < 1800, "the reads took until " + elapsed + " ms after the write: the replica may "
                    + "have caught up meanwhile, so they prove nothing");
            awaitReplica(n -> n.wal().lagBytes() <= MAX_LAG, "caught up");
            assertEquals(replicaPort, port(st), "back in rotation once within max_replica_lag");
        }
    }

    @Test
    void aWriteSentWhileTheReplicaAnswersAReadRunsOnThePrimary() throws Exception {
        awaitReplica(n -> n.wal().lagBytes() <= MAX_LAG, "within max_replica_lag");
        try (RawClient c = new RawClient(h.port())) {
            c.query("SELECT inet_server_port() FROM pg_sleep(0.5)");
            // Arrives while the replica still runs the read: it must wait and go to the primary,
            // never to the standby that would refuse it.
            Thread.sleep(150);
            c.query("INSERT INTO rw VALUES (100000, 'pipelined') RETURNING inet_server_port()");
            assertEquals(List.of(Integer.toString(replicaPort)), c.results());
            assertEquals(List.of(Integer.toString(primaryPort)), c.results());
        }
    }

    @Test
    void functionRulesComeFromThePrimarysCatalog() throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!h.relay().services().router().classifier().functionSafety().hasCatalog()
                && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertTrue(h.relay().services().router().classifier().functionSafety().hasCatalog(),
                "pg_proc not loaded within 10 s");
    }

    @Test
    void readOnlyTransactionsRunWholeOnTheReplica() throws Exception {
        awaitReplica(n -> n.wal().lagBytes() <= MAX_LAG, "within max_replica_lag");
        String replicaPortText = Integer.toString(replicaPort);
        List<List<String>> starts = List.of(List.of("BEGIN READ ONLY"), List.of("START TRANSACTION READ ONLY"),
                List.of("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"), List.of("begin", "SET TRANSACTION READ ONLY"));
        long replicaBefore = xactCommits(h.cluster().replicas().get(0).connect("postgres"));
        // PostgreSQL's own count on the primary lags by up to 10 s (idle backends flush late): pgrelay's is exact.
        NodeCounters primary = h.relay().services().router().counters()
                .of(h.relay().topology().current().primary().orElseThrow().name());
        long primaryBefore = primary.transactions();
        try (RawClient c = new RawClient(h.port())) {
            for (List<String> start : starts) {
                for (String statement : start) {
                    c.query(statement);
                    assertEquals(List.of(), c.results(), statement);
                }
                for (int i = 0; i < 2; i++) {
                    c.query("SELECT inet_server_port()");
                    assertEquals(List.of(replicaPortText), c.results(), start + ", statement " + i);
                }
                c.query("COMMIT");
                c.results();
            }
        }
        // PostgreSQL publishes a backend's counts when it goes idle, at most once a second.
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        long replicaCommits = 0;
        while (System.nanoTime() < deadline && replicaCommits < starts.size()) {
            Thread.sleep(200);
            replicaCommits = xactCommits(h.cluster().replicas().get(0).connect("postgres")) - replicaBefore;
        }
        assertTrue(replicaCommits >= starts.size(), "transactions committed on the replica: " + replicaCommits);
        assertEquals(0, primary.transactions() - primaryBefore, "transactions on the primary");
    }

    @Test
    void aReadOnlyTransactionThatWritesGetsTheReplicasOwnError() throws Exception {
        awaitReplica(n -> n.wal().lagBytes() <= MAX_LAG, "within max_replica_lag");
        try (RawClient c = new RawClient(h.port())) {
            c.query("BEGIN READ ONLY");
            c.results();
            c.query("SELECT inet_server_port()");
            assertEquals(List.of(Integer.toString(replicaPort)), c.results());
            c.query("INSERT INTO rw VALUES (300000, 'refused')");
            assertEquals("25006", c.sqlState(), "cannot execute INSERT in a read-only transaction");
            c.query("ROLLBACK");
            c.results();
            c.query("BEGIN");
            c.results();
            c.query("SELECT inet_server_port()");
            assertEquals(List.of(Integer.toString(primaryPort)), c.results(), "a plain BEGIN stays on the primary");
            c.query("COMMIT");
            c.results();
        }
    }

    @Test
    void jdbcReadOnlyAndDefaultTransactionReadOnlySessionsReadOnTheReplica() throws Exception {
        awaitReplica(n -> n.wal().lagBytes() <= MAX_LAG, "within max_replica_lag");
        try (Connection c = h.connect(); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            c.setReadOnly(true);
            assertEquals(replicaPort, port(st), "BEGIN READ ONLY batched with the first statement");
            assertEquals(replicaPort, port(st));
            c.commit();
        }
        try (Connection c = h.connect(); Statement st = c.createStatement()) {
            st.execute("BEGIN READ ONLY");
            assertEquals(replicaPort, port(st), "BEGIN READ ONLY alone through the extended protocol");
            st.execute("COMMIT");
            st.executeUpdate("INSERT INTO rw VALUES (500000, 'jdbc')");
            try (ResultSet rs = st.executeQuery("SHOW pgrelay.last_write_lsn")) {
                assertTrue(rs.next());
                assertTrue(rs.getString(1).matches("[0-9A-F]+/[0-9A-F]+"), rs.getString(1));
            }
        }
        Properties options = new Properties();
        options.setProperty("options", "-c default_transaction_read_only=on");
        try (Connection c = h.connect("app", RelayHarness.APP_PASSWORD, "app", options);
             Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            assertEquals(replicaPort, port(st), "default_transaction_read_only=on at startup");
            c.commit();
        }
        try (RawClient c = new RawClient(h.port())) {
            c.query("SET default_transaction_read_only = on");
            c.results();
            c.query("BEGIN");
            c.results();
            c.query("SELECT inet_server_port()");
            assertEquals(List.of(Integer.toString(replicaPort)), c.results(), "after SET default_transaction_read_only");
            c.query("COMMIT");
            c.results();
        }
    }

    @Test
    void aQueryArrivingInSeveralReadsIsRoutedLikeAWholeOne() throws Exception {
        awaitReplica(n -> n.wal().lagBytes() <= MAX_LAG, "within max_replica_lag");
        try (RawClient c = new RawClient(h.port())) {
            c.querySplit("SELECT inet_server_port() /* " + "x".repeat(3000) + " */", 100);
            assertEquals(List.of(Integer.toString(replicaPort)), c.results());
        }
    }

    @Test
    void aLaterConnectionReadsAWriteItWasToldTheLsnOf() throws Exception {
        awaitReplica(n -> n.wal().lagBytes() <= MAX_LAG, "within max_replica_lag");
        try (RawClient a = new RawClient(h.port()); RawClient b = new RawClient(h.port())) {
            a.query("SHOW pgrelay.last_write_lsn");
            assertEquals(Collections.singletonList(null), a.results(), "no write yet");
            a.query("INSERT INTO rw VALUES (400000, 'causal')");
            a.results();
            long written = System.nanoTime();
            a.query("SHOW pgrelay.last_write_lsn");
            String lsn = a.results().getFirst();
            assertTrue(lsn != null && lsn.matches("[0-9A-F]+/[0-9A-F]+"), lsn);
            b.query("SELECT count(*) FROM rw WHERE id = 400000");
            String unhinted = b.results().getFirst();
            b.query("/* pgrelay: min_lsn=" + lsn + " */ SELECT count(*) FROM rw WHERE id = 400000");
            assertEquals(List.of("1"), b.results(), "a read demanding the write's position sees it");
            long elapsed = Duration.ofNanos(System.nanoTime() - written).toMillis();
            assertTrue(elapsed < 1800, "the reads took until " + elapsed + " ms after the write: the replica may "
                    + "have replayed it meanwhile, so they prove nothing");
            assertEquals("0", unhinted, "without the hint the delayed replica answers");
        }
    }

    @Test
    void routingCountersCountReadsOnTheReplicaAndWritesOnThePrimary() throws Exception {
        awaitReplica(n -> n.wal().lagBytes() <= MAX_LAG, "within max_replica_lag");
        Topology t = h.relay().topology().current();
        NodeCounters primary = h.relay().services().router().counters().of(t.primary().orElseThrow().name());
        NodeCounters replica = h.relay().services().router().counters().of(t.replicas().getFirst().name());
        long reads = replica.queries(RouteReason.REPLICA_READ);
        long readTransactions = replica.transactions();
        long writes = primary.queries(RouteReason.CLASSIFIED_PRIMARY);
        long writeTransactions = primary.transactions();
        try (RawClient c = new RawClient(h.port())) {
            for (int i = 0; i < 5; i++) {
                c.query("SELECT " + i);
                c.results();
            }
            for (int i = 0; i < 3; i++) {
                c.query("INSERT INTO pad VALUES (" + i + ", 'counted')");
                c.results();
            }
        }
        assertEquals(5, replica.queries(RouteReason.REPLICA_READ) - reads, "reads on the replica");
        assertEquals(5, replica.transactions() - readTransactions, "transactions on the replica");
        assertEquals(3, primary.queries(RouteReason.CLASSIFIED_PRIMARY) - writes, "writes on the primary");
        assertEquals(3, primary.transactions() - writeTransactions, "transactions on the primary");

        Properties simple = new Properties();
        simple.setProperty("preferQueryMode", "simple");
        try (Connection console = h.connect("app", RelayHarness.APP_PASSWORD, "pgrelay", simple);
             Statement st = console.createStatement(); ResultSet rs = st.executeQuery("SHOW ROUTING")) {
            Map<String, Long> replicaReads = new java.util.HashMap<>();
            while (rs.next()) {
                replicaReads.put(rs.getString("node"), rs.getLong("replica_read"));
            }
            assertEquals(replica.queries(RouteReason.REPLICA_READ), replicaReads.get(replica.node()), replicaReads::toString);
        }
        String api = http("/api/v1/routing");
        assertTrue(api.contains("{\"node\":\"" + replica.node() + "\",\"in_flight\":"), api);
        String metrics = http("/metrics");
        assertTrue(metrics.contains("pgrelay_queries_total{node=\"" + replica.node() + "\",reason=\"replica_read\"} "
                + replica.queries(RouteReason.REPLICA_READ) + ".0\n"), metrics);
        assertTrue(metrics.contains("pgrelay_transactions_total{node=\"" + primary.node() + "\"} "), metrics);
    }

    private static String http(String path) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + h.relay().adminAddress().getPort() + path)).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r::body);
        return r.body();
    }

    /** Committed transactions of database app as {@code c}'s node counts them; closes {@code c}. */
    private static long xactCommits(Connection c) throws SQLException {
        try (c; Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT xact_commit FROM pg_stat_database WHERE datname = 'app'")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static int port(Statement st) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT inet_server_port()")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    /** Waits until {@code sql}, run straight on the replica, returns {@code expected}. */
    private static void awaitOnReplica(String sql, int expected) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (true) {
            // Until the replica replays CREATE DATABASE, even connecting to app fails.
            try (Connection r = h.cluster().replicas().get(0).connect("app"); Statement st = r.createStatement();
                 ResultSet rs = st.executeQuery(sql)) {
                rs.next();
                if (rs.getInt(1) == expected) {
                    return;
                }
            } catch (SQLException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the replica did not replay the setup within 15 s");
            }
            Thread.sleep(50);
        }
    }

    /** Waits until the monitor has sampled the replica and it meets {@code condition}. */
    private static void awaitReplica(Predicate<Node> condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        Node replica = null;
        while (System.nanoTime() < deadline) {
            replica = h.relay().topology().current().usableReplicas().stream().filter(Node::discovered).findFirst()
                    .orElse(null);
            if (replica != null && replica.wal().sampledAt().toEpochMilli() > 0 && condition.test(replica)) {
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("replica not " + what + " within 15 s: " + replica + " " + (replica == null ? ""
                : replica.wal()));
    }

    /** Just enough of the protocol to send a Query before the answer to the previous one. */
    private static final class RawClient implements AutoCloseable {
        private final Socket socket;
        private final DataInputStream in;
        private final DataOutputStream out;

        RawClient(int port) throws IOException {
            socket = new Socket("127.0.0.1", port);
            socket.setSoTimeout(10_000);
            in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
            out = new DataOutputStream(new BufferedOutputStream(socket.getOutputStream()));
            byte[] params = "user\0app\0database\0app\0\0".getBytes(StandardCharsets.UTF_8);
            out.writeInt(8 + params.length);
            out.writeInt(3 << 16);
            out.write(params);
            out.flush();
            results();
        }

        /** Sends a Query in one write. */
        void query(String sql) throws IOException {
            out.write(encode(sql));
            out.flush();
        }

        /** Sends a Query in two writes {@code pauseMillis} apart, so that pgrelay reads it in pieces. */
        void querySplit(String sql, long pauseMillis) throws IOException, InterruptedException {
            byte[] message = encode(sql);
            int half = message.length / 2;
            out.write(message, 0, half);
            out.flush();
            Thread.sleep(pauseMillis);
            out.write(message, half, message.length - half);
            out.flush();
        }

        private static byte[] encode(String sql) {
            byte[] text = (sql + "\0").getBytes(StandardCharsets.UTF_8);
            return java.nio.ByteBuffer.allocate(5 + text.length).put((byte) 'Q').putInt(4 + text.length).put(text)
                    .array();
        }

        /** The SQLSTATE of the ErrorResponse before the next ReadyForQuery; fails if there is none. */
        String sqlState() throws IOException {
            try {
                results();
            } catch (AssertionError e) {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile(" C([0-9A-Z]{5}) ").matcher(e.getMessage());
                if (m.find()) {
                    return m.group(1);
                }
                throw e;
            }
            throw new AssertionError("no error");
        }

        /** The first column of each row up to ReadyForQuery; an ErrorResponse fails the test. */
        List<String> results() throws IOException {
            List<String> values = new ArrayList<>();
            while (true) {
                byte type = in.readByte();
                byte[] body = new byte[in.readInt() - 4];
                in.readFully(body);
                switch (type) {
                    case 'D' -> {
                        int length = ((body[2] & 0xff) << 24) | ((body[3] & 0xff) << 16) | ((body[4] & 0xff) << 8)
                                | (body[5] & 0xff);
                        values.add(length < 0 ? null : new String(body, 6, length, StandardCharsets.UTF_8));
                    }
                    case 'E' -> {
                        // Read on to ReadyForQuery, so that the client stays usable after the error.
                        String error = new String(body, StandardCharsets.UTF_8).replace('\0', ' ');
                        while (in.readByte() != 'Z') {
                            in.readFully(new byte[in.readInt() - 4]);
                        }
                        in.readFully(new byte[in.readInt() - 4]);
                        throw new AssertionError("error from pgrelay:  " + error);
                    }
                    case 'Z' -> {
                        return values;
                    }
                    default -> {
                        // Row descriptions, command tags, parameters: not needed here.
                    }
                }
            }
        }

        @Override
        public void close() throws IOException {
            out.writeByte('X');
            out.writeInt(4);
            out.flush();
            socket.close();
        }
    }
}
