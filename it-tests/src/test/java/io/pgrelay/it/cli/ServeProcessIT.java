package io.pgrelay.it.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.pgrelay.it.fixture.PgCluster;
import io.pgrelay.it.fixture.PgClusterSpec;
import io.pgrelay.it.support.Resources;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code pgrelay serve} run from the jar in front of a real PostgreSQL primary: JDBC through it,
 * and the graceful shutdown on SIGTERM (stop accepting, close idle sessions with 57P01, let open
 * transactions finish up to shutdown_timeout, then end the rest and exit 0).
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ServeProcessIT {
    private static final String PASSWORD = "app-secret-7";
    /** PARANOID so that a leak the process happens to detect shows up in its log. */
    private static final List<String> JVM = List.of("-XX:+UseSerialGC", "-Dio.netty.leakDetection.level=PARANOID");

    @TempDir
    static Path dir;

    private static PgCluster pg;
    private static Path usersFile;
    @AutoClose
    private final Resources resources = new Resources();

    @BeforeAll
    static void startPostgres() throws IOException {
        RelayProcess.jar();
        pg = PgCluster.start(PgClusterSpec.defaults());
        usersFile = RelayProcess.appUsersFile(pg, dir, PASSWORD);
    }

    @AfterAll
    static void stopPostgres() {
        if (pg != null) {
            pg.close();
        }
    }

    @Test
    void jdbcThroughTheJar() throws Exception {
        RelayProcess relay = serve("10s");
        try (Connection c = connect(relay); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT current_user, inet_server_port(), current_database()")) {
            assertTrue(rs.next());
            assertEquals("app", rs.getString(1));
            assertEquals(pg.primary().port(), rs.getInt(2));
            assertEquals("app", rs.getString(3));
        }
        assertNoLeakReported(relay);
    }

    @Test
    void sigtermClosesIdleSessionsAndLetsTransactionsCommit() throws Exception {
        createTable("drained_rows");
        RelayProcess relay = serve("10s");
        Connection idle = track(connect(relay));
        Connection inTx = track(connect(relay));
        try (Statement st = idle.createStatement()) {
            st.execute("SELECT 1");
        }
        inTx.setAutoCommit(false);
        try (Statement st = inTx.createStatement()) {
            assertEquals(1, st.executeUpdate("INSERT INTO drained_rows VALUES ('before SIGTERM')"));
        }

        long signalled = System.nanoTime();
        relay.sigterm();
        relay.awaitStderr("shutdown requested", Duration.ofSeconds(15));
        awaitListenerClosed(relay, Duration.ofSeconds(10));
        SQLException refused = assertThrows(SQLException.class, () -> connect(relay).close(),
                "a new connection must fail once pgrelay is draining");
        assertTrue(refused.getSQLState() != null && refused.getSQLState().startsWith("08"), refused::toString);

        // The session is drained on its event loop right after the listener closes; there is no
        // signal for that to wait on, so give it a moment before using the idle connection.
        TimeUnit.MILLISECONDS.sleep(500);
        SQLException idleError = assertThrows(SQLException.class, () -> {
            try (Statement st = idle.createStatement()) {
                st.execute("SELECT 1");
            }
        }, "the idle session must be closed by the shutdown");
        assertShutdownOrConnectionError(idleError);

        try (Statement st = inTx.createStatement()) {
            assertEquals(1, st.executeUpdate("INSERT INTO drained_rows VALUES ('after SIGTERM')"));
        }
        inTx.commit();
        SQLException afterCommit = assertThrows(SQLException.class, () -> {
            try (Statement st = inTx.createStatement()) {
                st.execute("SELECT 1");
            }
        }, "pgrelay must close the session once its transaction ended");
        assertShutdownOrConnectionError(afterCommit);

        OptionalLong exit = relay.awaitExit(Duration.ofSeconds(15));
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - signalled);
        if (exit.isEmpty()) {
            fail("pgrelay still runs 15 s after SIGTERM" + relay.describe());
        }
        System.out.printf("pgrelay drained and exited %d ms after SIGTERM, exit code %d%n", tookMs, exit.getAsLong());
        assertEquals(List.of("after SIGTERM", "before SIGTERM"), rowsOf("drained_rows"), relay::describe);
        assertNoLeakReported(relay);
        assertEquals(0, exit.getAsLong(), () -> "pgrelay should exit 0 after a graceful shutdown" + relay.describe());
    }

    @Test
    void sigtermEndsATransactionThatNeverFinishesAfterShutdownTimeout() throws Exception {
        createTable("abandoned_rows");
        RelayProcess relay = serve("2s");
        Connection inTx = track(connect(relay));
        inTx.setAutoCommit(false);
        try (Statement st = inTx.createStatement()) {
            assertEquals(1, st.executeUpdate("INSERT INTO abandoned_rows VALUES ('never committed')"));
        }

        long signalled = System.nanoTime();
        relay.sigterm();
        OptionalLong exit = relay.awaitExit(Duration.ofSeconds(20));
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - signalled);
        if (exit.isEmpty()) {
            fail("pgrelay still runs 20 s after SIGTERM with shutdown_timeout 2s" + relay.describe());
        }
        System.out.printf("pgrelay with an endless transaction exited %d ms after SIGTERM, exit code %d%n",
                tookMs, exit.getAsLong());
        assertTrue(tookMs <= 6_500, () -> "pgrelay took " + tookMs + " ms to exit with shutdown_timeout 2s"
                + relay.describe());
        assertTrue(relay.stderr().contains("shutdown_timeout"), relay::describe);

        SQLException ended = assertThrows(SQLException.class, () -> {
            try (Statement st = inTx.createStatement()) {
                st.execute("INSERT INTO abandoned_rows VALUES ('too late')");
            }
            inTx.commit();
        });
        assertShutdownOrConnectionError(ended);
        awaitNoBackendOf("app", Duration.ofSeconds(10));
        assertEquals(List.of(), rowsOf("abandoned_rows"), "the open transaction must have been rolled back");
        assertNoLeakReported(relay);
        assertEquals(0, exit.getAsLong(), () -> "pgrelay should exit 0 after a graceful shutdown" + relay.describe());
    }

    /** SHUTDOWN on the admin console takes the SIGTERM path: drain, then exit 0. */
    @Test
    void shutdownOnTheAdminConsoleStopsTheProcessLikeSigterm() throws Exception {
        RelayProcess relay = track(RelayProcess.serve(JVM, Map.of("PGRELAY_AUTH_USERS_FILE", usersFile.toString(),
                        "PGRELAY_SHUTDOWN_TIMEOUT", "10s", "PGRELAY_ADMIN_USERS", "app"),
                List.of("--primary", "127.0.0.1:" + pg.primary().port())));
        Connection idle = track(connect(relay));
        try (Statement st = idle.createStatement()) {
            st.execute("SELECT 1");
        }
        Properties p = new Properties();
        p.setProperty("user", "app");
        p.setProperty("password", PASSWORD);
        p.setProperty("preferQueryMode", "simple");
        try (Connection console = DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + relay.port() + "/pgrelay", p);
             Statement st = console.createStatement()) {
            st.execute("SHUTDOWN");
        }

        relay.awaitStderr("shutdown requested", Duration.ofSeconds(15));
        OptionalLong exit = relay.awaitExit(Duration.ofSeconds(15));
        if (exit.isEmpty()) {
            fail("pgrelay still runs 15 s after SHUTDOWN" + relay.describe());
        }
        assertEquals(0, exit.getAsLong(), relay::describe);
        assertTrue(relay.stderr().contains("SHUTDOWN requested on the admin console"), relay::describe);
        SQLException ended = assertThrows(SQLException.class, () -> {
            try (Statement st = idle.createStatement()) {
                st.execute("SELECT 1");
            }
        });
        assertShutdownOrConnectionError(ended);
        assertNoLeakReported(relay);
    }

    private RelayProcess serve(String shutdownTimeout) throws IOException, InterruptedException {
        RelayProcess relay = RelayProcess.serve(JVM,
                Map.of("PGRELAY_AUTH_USERS_FILE", usersFile.toString(), "PGRELAY_SHUTDOWN_TIMEOUT", shutdownTimeout),
                List.of("--primary", "127.0.0.1:" + pg.primary().port()));
        return track(relay);
    }

    private <T extends AutoCloseable> T track(T resource) {
        return resources.track(resource);
    }

    private static Connection connect(RelayProcess relay) throws SQLException {
        return relay.connect("app", "app", PASSWORD);
    }

    private static void createTable(String name) throws SQLException {
        try (Connection c = pg.primary().connect("app"); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE " + name + " (v text)");
            st.execute("ALTER TABLE " + name + " OWNER TO app");
        }
    }

    /** The rows of a table, read on the primary directly. */
    private static List<String> rowsOf(String table) throws SQLException {
        List<String> rows = new ArrayList<>();
        try (Connection c = pg.primary().connect("app"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT v FROM " + table + " ORDER BY v")) {
            while (rs.next()) {
                rows.add(rs.getString(1));
            }
        }
        return rows;
    }

    /** Waits until PostgreSQL has no backend of {@code user} left (pgrelay's server connections are gone). */
    private static void awaitNoBackendOf(String user, Duration timeout) throws SQLException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (Connection c = pg.primary().connect("postgres"); Statement st = c.createStatement()) {
            while (true) {
                try (ResultSet rs = st.executeQuery("SELECT count(*), string_agg(state, ',') FROM pg_stat_activity"
                        + " WHERE usename = '" + user + "'")) {
                    rs.next();
                    if (rs.getInt(1) == 0) {
                        return;
                    }
                    if (System.nanoTime() > deadline) {
                        fail(rs.getInt(1) + " backends of " + user + " remain (" + rs.getString(2) + ") " + timeout
                                + " after pgrelay exited");
                    }
                }
                TimeUnit.MILLISECONDS.sleep(100);
            }
        }
    }

    /** Polls until a TCP connect to pgrelay's port is refused. */
    private static void awaitListenerClosed(RelayProcess relay, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", relay.port()), 1000);
            } catch (ConnectException refused) {
                return;
            } catch (IOException e) {
                // A timeout or reset is not the refusal we wait for; try again until the deadline.
            }
            if (System.nanoTime() > deadline) {
                fail("pgrelay still accepts connections " + timeout + " after SIGTERM" + relay.describe());
            }
            TimeUnit.MILLISECONDS.sleep(50);
        }
    }

    private static void assertShutdownOrConnectionError(SQLException e) {
        String state = e.getSQLState();
        assertTrue("57P01".equals(state) || (state != null && state.startsWith("08")),
                () -> "expected SQLState 57P01 or 08xxx, got " + state + ": " + e);
    }

    private static void assertNoLeakReported(RelayProcess relay) {
        assertFalse(relay.stderr().contains("LEAK:"), () -> "Netty reported a buffer leak" + relay.describe());
    }
}
