package io.pgrelay.it.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.support.RelayHarness;
import java.io.ByteArrayInputStream;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.postgresql.copy.CopyManager;

/** The PostgreSQL JDBC driver through pgrelay in session pooling, against a real primary. */
class JdbcProxyIT {
    private static RelayHarness h;

    @BeforeAll
    static void start() throws Exception {
        h = RelayHarness.start(Map.of());
    }

    @AfterAll
    static void stop() throws Exception {
        if (h != null) {
            h.close();
        }
    }

    @Test
    void queriesRunOnThePrimaryAsTheClientsUser() throws SQLException {
        try (Connection c = h.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT inet_server_port(), current_user, current_database(), pg_is_in_recovery()")) {
            assertTrue(rs.next());
            assertEquals(h.cluster().primary().port(), rs.getInt(1));
            assertEquals("app", rs.getString(2));
            assertEquals("app", rs.getString(3));
            assertEquals(false, rs.getBoolean(4));
        }
    }

    @Test
    void namedPreparedStatementsBatchesAndErrors() throws SQLException {
        Properties p = new Properties();
        p.setProperty("prepareThreshold", "1");
        try (Connection c = h.connect("app", RelayHarness.APP_PASSWORD, "app", p); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE IF NOT EXISTS batch_items (id int PRIMARY KEY, label text)");
            st.execute("TRUNCATE batch_items");
            try (PreparedStatement ins = c.prepareStatement("INSERT INTO batch_items VALUES (?, ?)")) {
                for (int i = 0; i < 500; i++) {
                    ins.setInt(1, i);
                    ins.setString(2, "item " + i);
                    ins.addBatch();
                }
                assertEquals(500, ins.executeBatch().length);
            }
            try (PreparedStatement sel = c.prepareStatement("SELECT label FROM batch_items WHERE id = ?")) {
                for (int i = 0; i < 50; i++) {
                    sel.setInt(1, i * 7);
                    try (ResultSet rs = sel.executeQuery()) {
                        assertTrue(rs.next());
                        assertEquals("item " + (i * 7), rs.getString(1));
                    }
                }
            }
            SQLException e = assertThrows(SQLException.class, () -> st.executeQuery("SELECT 1/0"));
            assertEquals("22012", e.getSQLState());
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM batch_items")) {
                rs.next();
                assertEquals(500, rs.getInt(1), "the session stays usable after an error");
            }
        }
    }

    @Test
    void emptyQueriesNoticesAndOurOwnCancelKey() throws SQLException {
        try (Connection c = h.connect(); Statement st = c.createStatement()) {
            assertEquals(false, st.execute(""), "an empty query gets EmptyQueryResponse, not an error");
            st.execute("DO $$ BEGIN RAISE NOTICE 'notice through pgrelay'; END $$");
            assertNotNull(st.getWarnings());
            assertEquals("notice through pgrelay", st.getWarnings().getMessage());
            int keyPid = c.unwrap(PGConnection.class).getBackendPID();
            assertNotEquals(pid(st), keyPid, "the client holds pgrelay's BackendKeyData, not the server's");
        }
    }

    @Test
    void copyInAndOut() throws Exception {
        try (Connection c = h.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE IF NOT EXISTS copy_items (id int, label text)");
            st.execute("TRUNCATE copy_items");
            StringBuilder data = new StringBuilder();
            for (int i = 0; i < 20_000; i++) {
                data.append(i).append('\t').append("row ").append(i).append('\n');
            }
            CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
            long in = copy.copyIn("COPY copy_items FROM STDIN",
                    new ByteArrayInputStream(data.toString().getBytes(StandardCharsets.UTF_8)));
            assertEquals(20_000, in);
            StringWriter out = new StringWriter();
            long outRows = copy.copyOut("COPY (SELECT * FROM copy_items ORDER BY id) TO STDOUT", out);
            assertEquals(20_000, outRows);
            assertEquals(data.toString(), out.toString());
        }
    }

    @Test
    void listenAndNotify() throws Exception {
        try (Connection listener = h.connect(); Connection notifier = h.connect()) {
            try (Statement st = listener.createStatement()) {
                st.execute("LISTEN pgrelay_events");
            }
            try (Statement st = notifier.createStatement()) {
                st.execute("NOTIFY pgrelay_events, 'hello through pgrelay'");
            }
            PGNotification[] got = listener.unwrap(PGConnection.class).getNotifications(10_000);
            assertNotNull(got);
            assertEquals(1, got.length);
            assertEquals("pgrelay_events", got[0].getName());
            assertEquals("hello through pgrelay", got[0].getParameter());
        }
    }

    @Test
    void cancelStopsARunningQuery() throws Exception {
        ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
        try (Connection c = h.connect(); Statement st = c.createStatement()) {
            timer.schedule(() -> {
                st.cancel();
                return null;
            }, 500, TimeUnit.MILLISECONDS);
            long start = System.nanoTime();
            SQLException e = assertThrows(SQLException.class, () -> st.execute("SELECT pg_sleep(30)"));
            assertEquals("57014", e.getSQLState(), e.getMessage());
            assertTrue(System.nanoTime() - start < Duration.ofSeconds(10).toNanos(), "cancelled well before 30 s");
            try (ResultSet rs = st.executeQuery("SELECT 42")) {
                rs.next();
                assertEquals(42, rs.getInt(1));
            }
        } finally {
            timer.shutdownNow();
        }
    }

    @Test
    void largeResultWithAFetchSize() throws SQLException {
        try (Connection c = h.connect()) {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.setFetchSize(1000);
                long rows = 0;
                long sum = 0;
                try (ResultSet rs = st.executeQuery("SELECT g, repeat('x', 100) FROM generate_series(1, 300000) g")) {
                    while (rs.next()) {
                        rows++;
                        sum += rs.getLong(1);
                    }
                }
                assertEquals(300_000, rows);
                assertEquals(300_000L * 300_001L / 2, sum);
            }
            c.commit();
        }
    }

    @Test
    void startupParametersTakeEffectAndResetReturnsToThem() throws SQLException {
        Properties p = new Properties();
        p.setProperty("options", "-c statement_timeout=4321 -c search_path=pgrelay_test,public");
        p.setProperty("ApplicationName", "pgrelay-it");
        try (Connection c = h.connect("app", RelayHarness.APP_PASSWORD, "app", p); Statement st = c.createStatement()) {
            assertEquals("4321ms", show(st, "statement_timeout"));
            assertEquals("pgrelay_test,public", show(st, "search_path"));
            assertEquals("pgrelay-it", show(st, "application_name"));
            st.execute("SET statement_timeout = 99");
            assertEquals("99ms", show(st, "statement_timeout"));
            st.execute("RESET statement_timeout");
            assertEquals("4321ms", show(st, "statement_timeout"), "RESET returns to the client's startup value");
            st.execute("SET application_name = 'renamed'");
            assertEquals("renamed", c.getClientInfo("ApplicationName"), "ParameterStatus reached the driver");
        }
    }

    @Test
    void aReleasedServerConnectionIsResetAndReused() throws Exception {
        int firstPid;
        try (Connection c = h.connect(); Statement st = c.createStatement()) {
            firstPid = pid(st);
            st.execute("CREATE TEMP TABLE leftover (x int)");
            st.execute("SET work_mem = '7MB'");
            st.execute("PREPARE leftover_stmt AS SELECT 1");
        }
        // The reset runs after the client has gone; a client arriving before it ends gets a new connection.
        h.awaitServersIdle();
        try (Connection c = h.connect(); Statement st = c.createStatement()) {
            assertEquals(firstPid, pid(st), "the same server connection serves the next client");
            assertEquals("4MB", show(st, "work_mem"), "DISCARD ALL reset the session");
            assertThrows(SQLException.class, () -> st.execute("SELECT * FROM leftover"));
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_prepared_statements")) {
                rs.next();
                assertEquals(0, rs.getInt(1));
            }
        }
    }

    @Test
    void aServerConnectionLeftMidTransactionIsNotReused() throws SQLException {
        int pid;
        try (Connection c = h.connect()) {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                pid = pid(st);
                st.execute("CREATE TEMP TABLE in_tx (x int)");
            }
            // closing without commit: the driver sends Terminate while the server is in a transaction
        }
        try (Connection c = h.connect(); Statement st = c.createStatement()) {
            assertNotEquals(pid, pid(st));
        }
    }

    @Test
    void scramKeyPassthroughLogsInWithoutAPlaintextPassword() throws SQLException {
        try (Connection c = h.connect("scram_app", RelayHarness.SCRAM_PASSWORD, "scram_app", new Properties());
             Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT current_user")) {
            rs.next();
            assertEquals("scram_app", rs.getString(1));
        }
    }

    @Test
    void authAndDatabaseErrorsCarryPostgresSqlStates() {
        SQLException wrong = assertThrows(SQLException.class,
                () -> h.connect("app", "not-the-password", "app", new Properties()));
        assertEquals("28P01", wrong.getSQLState());
        SQLException unknown = assertThrows(SQLException.class,
                () -> h.connect("nobody", "whatever", "app", new Properties()));
        assertEquals("28P01", unknown.getSQLState());
        SQLException noDb = assertThrows(SQLException.class,
                () -> h.connect("app", RelayHarness.APP_PASSWORD, "no_such_db", new Properties()));
        assertEquals("3D000", noDb.getSQLState());
    }

    @Test
    void theServersFatalErrorReachesTheClient() throws Exception {
        try (Connection c = h.connect(); Statement st = c.createStatement()) {
            int pid = pid(st);
            try (Connection admin = h.direct(); Statement a = admin.createStatement()) {
                a.execute("SELECT pg_terminate_backend(" + pid + ")");
            }
            SQLException e = assertThrows(SQLException.class, () -> st.executeQuery("SELECT 1"));
            assertTrue(e.getSQLState().equals("57P01") || e.getSQLState().startsWith("08"), e.getSQLState() + " " + e.getMessage());
        }
    }

    @Test
    void aClientThatVanishesMidQueryFreesItsBackend() throws Exception {
        Connection c = h.connect();
        Statement st = c.createStatement();
        Thread runner = new Thread(() -> {
            try {
                st.execute("SELECT pg_sleep(60) /* vanish */");
            } catch (SQLException expected) {
                // the connection is aborted under it
            }
        });
        runner.start();
        awaitActive("vanish", 1);
        c.abort(Runnable::run);
        runner.join(10_000);
        awaitActive("vanish", 0);
    }

    private static void awaitActive(String marker, int expected) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        int n = -1;
        while (System.nanoTime() < deadline) {
            try (Connection c = h.direct(); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%"
                         + marker + "%' AND pid <> pg_backend_pid()")) {
                rs.next();
                n = rs.getInt(1);
            }
            if (n == expected) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("expected " + expected + " active '" + marker + "' queries, saw " + n);
    }

    private static int pid(Statement st) throws SQLException {
        try (ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    private static String show(Statement st, String name) throws SQLException {
        try (ResultSet rs = st.executeQuery("SHOW " + name)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
