package io.pgrelay.it.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.conf.ConfigLoader;
import io.pgrelay.it.fixture.PgCluster;
import io.pgrelay.it.support.RelayHarness;
import io.pgrelay.it.tools.ToolRunner;
import io.pgrelay.it.tools.ToolRunner.Result;
import io.pgrelay.server.PgRelayServer;
import java.net.ConnectException;
import java.net.Socket;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The admin console (virtual database {@code pgrelay}) read with psql and with JDBC, against a
 * transaction-pooling pgrelay whose admin user is {@code app}.
 */
class AdminConsoleIT {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);
    private static final int POOL_SIZE = 2;
    private static RelayHarness h;

    @BeforeAll
    static void start() throws Exception {
        h = RelayHarness.start(Map.of("admin.users", "app", "pool.mode", "transaction",
                "pool.size", String.valueOf(POOL_SIZE)));
    }

    @AfterAll
    static void stop() throws Exception {
        if (h != null) {
            h.close();
        }
    }

    @Test
    void clientsPoolsAndServersShowTheAppConnections() throws Exception {
        try (Connection a = h.connect(); Connection b = h.connect(); Connection c = h.connect();
             Connection console = console(h.port())) {
            for (Connection x : List.of(a, b, c)) {
                assertEquals(1, scalar(x, "SELECT 1"));
            }
            a.setAutoCommit(false);
            int pid = scalar(a, "SELECT pg_backend_pid()");

            List<Map<String, String>> clients = rows(console, "SHOW CLIENTS");
            List<Map<String, String>> app = clients.stream().filter(r -> r.get("database").equals("app")).toList();
            assertEquals(3, app.size(), clients::toString);
            assertEquals(List.of("active", "idle", "idle"), app.stream().map(r -> r.get("state")).sorted().toList());
            Map<String, String> inTransaction = app.stream().filter(r -> r.get("state").equals("active")).findFirst().orElseThrow();
            assertEquals(String.valueOf(pid), inTransaction.get("server_pid"));
            assertEquals("app", inTransaction.get("user"));
            assertEquals("127.0.0.1", inTransaction.get("addr"));
            Map<String, String> me = clients.stream().filter(r -> r.get("database").equals("pgrelay")).findFirst().orElseThrow();
            assertEquals("admin", me.get("state"));

            Map<String, String> pool = only(rows(console, "SHOW POOLS"), "database", "app");
            assertEquals("app", pool.get("user"));
            assertEquals("primary", pool.get("node"));
            assertEquals("transaction", pool.get("mode"));
            assertEquals("3", pool.get("cl_active"));
            assertEquals("0", pool.get("cl_waiting"));
            assertEquals("1", pool.get("sv_active"));
            assertEquals(String.valueOf(h.backendsOf("app")), pool.get("sv_total"));
            assertEquals("no", pool.get("paused"));

            List<Map<String, String>> servers = rows(console, "SHOW SERVERS");
            Map<String, String> held = only(servers, "pid", String.valueOf(pid));
            assertEquals("active", held.get("state"));
            assertEquals("app", held.get("database"));
            assertEquals(inTransaction.get("port"), held.get("client_port"));
            assertEquals(h.backendsOf("app"), servers.stream().filter(r -> r.get("user").equals("app")).count());

            // psql reads the same views.
            Result psql = psql("app", "SHOW CLIENTS");
            assertEquals(0, psql.exitCode(), psql.toString());
            assertEquals(3, psql.stdout().lines().filter(l -> l.startsWith("app|app|")).count(), psql.toString());
            Result pools = psql("app", "show pools;");
            assertEquals(0, pools.exitCode(), pools.toString());
            assertTrue(pools.stdout().contains("app|app|primary|transaction|3|0|1|"), pools.toString());
            a.commit();
        }
    }

    @Test
    void statsCountLoginsQueriesAndTransactions() throws Exception {
        try (Connection app = h.connect(); Connection console = console(h.port())) {
            assertEquals(1, scalar(app, "SELECT 1"));
            Map<String, String> before = only(rows(console, "SHOW STATS"), "database", "app");
            app.setAutoCommit(false);
            for (int i = 0; i < 3; i++) {
                assertEquals(i, scalar(app, "SELECT " + i));
            }
            app.commit();
            Map<String, String> after = only(rows(console, "SHOW STATS"), "database", "app");
            // BEGIN, three SELECTs, COMMIT: five queries, one transaction.
            assertEquals(5, delta(before, after, "total_query_count"), before + " -> " + after);
            assertEquals(1, delta(before, after, "total_xact_count"), before + " -> " + after);
            assertEquals(0, delta(before, after, "total_logins"));
            assertTrue(Long.parseLong(after.get("total_logins")) >= 2, after::toString);
            assertTrue(Long.parseLong(after.get("total_server_connects")) >= 1, after::toString);
            Map<String, String> consoleLogins = only(rows(console, "SHOW STATS"), "database", "pgrelay");
            assertTrue(Long.parseLong(consoleLogins.get("total_logins")) >= 1, consoleLogins::toString);
        }
        Result psql = psql("app", "SHOW STATS");
        assertEquals(0, psql.exitCode(), psql.toString());
        assertTrue(psql.stdout().lines().anyMatch(l -> l.startsWith("app|app|")), psql.toString());
    }

    @Test
    void databasesConfigVersionAndHelp() throws Exception {
        try (Connection app = h.connect(); Connection console = console(h.port())) {
            assertEquals(1, scalar(app, "SELECT 1"));
            Map<String, String> db = only(rows(console, "SHOW DATABASES"), "database", "app");
            assertEquals("primary", db.get("node"));
            assertEquals(String.valueOf(h.cluster().primary().port()), db.get("port"));
            assertEquals("transaction", db.get("pool_mode"));
            assertEquals(String.valueOf(POOL_SIZE), db.get("pool_size"));
            assertEquals("no", db.get("paused"));

            Map<String, String> config = new LinkedHashMap<>();
            rows(console, "SHOW CONFIG").forEach(r -> config.put(r.get("key"), r.get("value")));
            assertEquals("app", config.get("admin.users"));
            assertEquals("transaction", config.get("pool.mode"));
            assertEquals("2", config.get("pool.size"));
            assertEquals("120s", config.get("pool.query_wait_timeout"));
            assertEquals(h.dir().resolve("users.txt").toString(), config.get("auth.users_file"));
            assertEquals("primary 127.0.0.1:" + h.cluster().primary().port() + " primary weight 1", config.get("nodes[0]"));
            assertFalse(config.toString().contains(RelayHarness.APP_PASSWORD), "no secret in SHOW CONFIG");

            String version = only(rows(console, "SHOW VERSION"), "version", null).get("version");
            assertTrue(version.matches("pgrelay \\d+\\.\\d+\\.\\d+(-SNAPSHOT)?"), version);
            List<Map<String, String>> help = rows(console, "SHOW HELP");
            assertEquals(17, help.size(), help::toString);
            assertTrue(help.stream().anyMatch(r -> r.get("command").equals("DETACH node")), help::toString);
            assertEquals("SHOW POOLS", help.get(0).get("command"));
            try (Statement st = console.createStatement(); ResultSet rs = st.executeQuery("SHOW POOLS")) {
                ResultSetMetaData md = rs.getMetaData();
                assertEquals("text", md.getColumnTypeName(1));
                assertEquals("int8", md.getColumnTypeName(5), "counters are bigint");
            }
        }
        Result psql = psql("app", "SHOW VERSION");
        assertEquals(0, psql.exitCode(), psql.toString());
        assertTrue(psql.stdout().startsWith("pgrelay "), psql.toString());
        Result config = psql("app", "show config");
        assertTrue(config.stdout().contains("admin.users|app\n"), config.toString());
    }

    @Test
    void errorsLeaveTheConsoleUsable() throws Exception {
        try (Connection console = console(h.port())) {
            SQLException unknown = assertThrows(SQLException.class, () -> rows(console, "SHOW NODES"));
            assertEquals("42601", unknown.getSQLState());
            assertTrue(unknown.getMessage().contains("unknown pgrelay admin console command \"SHOW NODES\""),
                    unknown.getMessage());
            assertTrue(unknown.getMessage().contains("SHOW POOLS|CLIENTS"), unknown.getMessage());
            SQLException reload = assertThrows(SQLException.class, () -> rows(console, "RELOAD"));
            // The harness runs pgrelay in process, without a file to re-read; ReloadIT covers the real thing.
            assertEquals("F0000", reload.getSQLState());
            assertTrue(reload.getMessage().contains("without a configuration to re-read"), reload.getMessage());
            assertEquals(1, rows(console, "SHOW VERSION").size(), "the console still answers");
        }
        Result psql = psql("app", "SELECT 1");
        assertEquals(1, psql.exitCode(), psql.toString());
        assertTrue(psql.stderr().contains("unknown pgrelay admin console command \"SELECT 1\""), psql.toString());
        Result reload = psql("app", "RELOAD");
        assertTrue(reload.stderr().contains("reload refused, configuration unchanged"), reload.toString());
    }

    @Test
    void extendedQueryProtocolIsRefused() throws Exception {
        try (Connection extended = h.connect("app", RelayHarness.APP_PASSWORD, "pgrelay", new Properties())) {
            for (int i = 0; i < 2; i++) {
                SQLException e = assertThrows(SQLException.class, () -> rows(extended, "SHOW POOLS"));
                assertEquals("0A000", e.getSQLState());
                assertTrue(e.getMessage().contains("accepts only simple queries"), e.getMessage());
            }
        }
    }

    @Test
    void nonAdminUsersAreRefused() throws Exception {
        SQLException e = assertThrows(SQLException.class, () -> h.connect("scram_app", RelayHarness.SCRAM_PASSWORD,
                "pgrelay", simple()));
        assertEquals("28000", e.getSQLState());
        assertTrue(e.getMessage().contains("user \"scram_app\" may not use the pgrelay admin console: it is not listed "
                + "in admin.users"), e.getMessage());
        Result psql = ToolRunner.run(PgCluster.psqlPath(), psqlArgs(h.port(), "scram_app", "SHOW POOLS"),
                Map.of("PGPASSWORD", RelayHarness.SCRAM_PASSWORD), TIMEOUT);
        assertEquals(2, psql.exitCode(), psql.toString());
        assertTrue(psql.stderr().contains("not listed in admin.users"), psql.toString());
    }

    @Test
    void pauseHoldsNewLeasesUntilResume() throws Exception {
        try (Connection holder = h.connect(); Connection waiter = h.connect(); Connection console = console(h.port())) {
            assertEquals(1, scalar(waiter, "SELECT 1"));
            holder.setAutoCommit(false);
            assertEquals(1, scalar(holder, "SELECT 1"));
            // PAUSE waits for the server held by the open transaction.
            CompletableFuture<Void> pause = CompletableFuture.runAsync(() -> execute(console, "PAUSE app"));
            Thread.sleep(300);
            assertFalse(pause.isDone(), "PAUSE returned while a server was still leased");
            holder.commit();
            pause.get(5, TimeUnit.SECONDS);

            CompletableFuture<Integer> query = CompletableFuture.supplyAsync(() -> scalarUnchecked(waiter, "SELECT 42"));
            Thread.sleep(500);
            assertFalse(query.isDone(), "a new lease waits while app is paused");
            try (Connection second = console(h.port())) {
                Map<String, String> pool = only(rows(second, "SHOW POOLS"), "database", "app");
                assertEquals("yes", pool.get("paused"));
                assertEquals("1", pool.get("cl_waiting"));
                assertEquals("0", pool.get("sv_active"));
                assertEquals("yes", only(rows(second, "SHOW DATABASES"), "database", "app").get("paused"));
                execute(second, "RESUME app");
            }
            assertEquals(42, query.get(5, TimeUnit.SECONDS));
        }
        Result pause = psql("app", "PAUSE app");
        assertEquals(0, pause.exitCode(), pause.toString());
        assertEquals("PAUSE\n", pause.stdout(), pause.toString());
        Result resume = psql("app", "RESUME app;");
        assertEquals("RESUME\n", resume.stdout(), resume.toString());
        try (Connection app = h.connect()) {
            assertEquals(7, scalar(app, "SELECT 7"), "resumed");
        }
    }

    @Test
    void killEndsTheDatabasesClientsOnly() throws Exception {
        try (Connection a = h.connect(); Connection b = h.connect();
             Connection other = h.connect("scram_app", RelayHarness.SCRAM_PASSWORD, "scram_app", new Properties());
             Connection console = console(h.port())) {
            assertEquals(1, scalar(a, "SELECT 1"));
            b.setAutoCommit(false);
            int pid = scalar(b, "SELECT pg_backend_pid()");
            assertEquals(1, scalar(other, "SELECT 1"));

            try (Statement st = console.createStatement()) {
                st.execute("KILL app");
                assertTrue(st.getWarnings().getMessage().contains("closed 2 client connections"),
                        st.getWarnings().getMessage());
            }
            for (Connection killed : List.of(a, b)) {
                SQLException e = assertThrows(SQLException.class, () -> scalar(killed, "SELECT 1"));
                assertTrue(List.of("57P01", "08006").contains(e.getSQLState()), e.getSQLState() + " " + e.getMessage());
            }
            assertEquals(2, scalar(other, "SELECT 2"), "another database's client is untouched");
            awaitBackendGone(pid);
        }
        try (Connection a = h.connect()) {
            assertEquals(3, scalar(a, "SELECT 3"), "new clients of the database are served");
        }
        Result kill = psql("app", "KILL app");
        assertEquals(0, kill.exitCode(), kill.toString());
        assertEquals("KILL\n", kill.stdout(), kill.toString());
    }

    /** A pgrelay of its own in front of the same cluster, so the shared one keeps running. */
    @Test
    void shutdownStopsPgrelayAndWithoutAdminUsersTheConsoleIsClosed() throws Exception {
        PgRelayServer closed = secondRelay("");
        try {
            SQLException e = assertThrows(SQLException.class, () -> console(closed.localAddress().getPort()));
            assertEquals("28000", e.getSQLState());
            assertTrue(e.getMessage().contains("the pgrelay admin console is disabled: no user is listed in admin.users"),
                    e.getMessage());
        } finally {
            closed.shutdown(Duration.ofSeconds(2));
        }
        PgRelayServer relay = secondRelay("app");
        int port = relay.localAddress().getPort();
        try (Connection app = h.connect("app", RelayHarness.APP_PASSWORD, "app", new Properties(), port)) {
            assertEquals(1, scalar(app, "SELECT 1"));
            Result psql = ToolRunner.run(PgCluster.psqlPath(), psqlArgs(port, "app", "SHUTDOWN"),
                    Map.of("PGPASSWORD", RelayHarness.APP_PASSWORD), TIMEOUT);
            assertEquals(0, psql.exitCode(), psql.toString());
            assertEquals("SHUTDOWN\n", psql.stdout(), psql.toString());
            awaitNotListening(port);
            SQLException e = assertThrows(SQLException.class, () -> scalar(app, "SELECT 1"));
            assertNotEquals("00000", e.getSQLState());
        } finally {
            relay.shutdown(Duration.ofSeconds(2));
        }
    }

    // ---- helpers

    private static PgRelayServer secondRelay(String adminUsers) throws Exception {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("listen", "127.0.0.1:0");
        o.put("primary", "127.0.0.1:" + h.cluster().primary().port());
        o.put("auth.users_file", h.dir().resolve("users.txt").toString());
        o.put("shutdown_timeout", "2s");
        o.put("admin.users", adminUsers);
        return new PgRelayServer(ConfigLoader.load(Optional.empty(), Map.of(), o)).start();
    }

    private static Properties simple() {
        Properties p = new Properties();
        p.setProperty("preferQueryMode", "simple");
        return p;
    }

    private static Connection console(int port) throws SQLException {
        return h.connect("app", RelayHarness.APP_PASSWORD, "pgrelay", simple(), port);
    }

    /** Every row of a console command, column name to text value, in order. */
    private static List<Map<String, String>> rows(Connection c, String sql) throws SQLException {
        List<Map<String, String>> rows = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            ResultSetMetaData md = rs.getMetaData();
            while (rs.next()) {
                Map<String, String> row = new LinkedHashMap<>();
                for (int i = 1; i <= md.getColumnCount(); i++) {
                    row.put(md.getColumnName(i), rs.getString(i));
                }
                rows.add(row);
            }
        }
        return rows;
    }

    /** The one row whose {@code column} is {@code value} (any row when value is null). */
    private static Map<String, String> only(List<Map<String, String>> rows, String column, String value) {
        List<Map<String, String>> matching = rows.stream()
                .filter(r -> value == null || value.equals(r.get(column))).toList();
        assertEquals(1, matching.size(), () -> "rows with " + column + "=" + value + " in " + rows);
        return matching.get(0);
    }

    private static long delta(Map<String, String> before, Map<String, String> after, String column) {
        return Long.parseLong(after.get(column)) - Long.parseLong(before.get(column));
    }

    private static int scalar(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            assertTrue(rs.next());
            return rs.getInt(1);
        }
    }

    private static int scalarUnchecked(Connection c, String sql) {
        try {
            return scalar(c, sql);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void execute(Connection c, String sql) {
        try (Statement st = c.createStatement()) {
            st.execute(sql);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Result psql(String user, String command) throws Exception {
        return ToolRunner.run(PgCluster.psqlPath(), psqlArgs(h.port(), user, command),
                Map.of("PGPASSWORD", RelayHarness.APP_PASSWORD), TIMEOUT);
    }

    private static List<String> psqlArgs(int port, String user, String command) {
        return Arrays.asList("-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", String.valueOf(port),
                "-U", user, "-d", "pgrelay", "-c", command);
    }

    private static void awaitBackendGone(int pid) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try (Connection c = h.direct(); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid)) {
                rs.next();
                if (rs.getInt(1) == 0) {
                    return;
                }
            }
            assertTrue(System.nanoTime() < deadline, "backend " + pid + " still there after KILL");
            Thread.sleep(50);
        }
    }

    private static void awaitNotListening(int port) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try (Socket s = new Socket("127.0.0.1", port)) {
                assertTrue(System.nanoTime() < deadline, "pgrelay still listens on " + port + " after SHUTDOWN");
                Thread.sleep(50);
            } catch (ConnectException refused) {
                return;
            }
        }
    }
}
