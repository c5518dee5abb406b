package io.pgrelay.it.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.cli.JsonReader;
import io.pgrelay.it.cli.RelayProcess.Result;
import io.pgrelay.it.fixture.PgCluster;
import io.pgrelay.it.fixture.PgClusterSpec;
import io.pgrelay.it.support.Resources;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
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
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AutoClose;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reload of {@code pgrelay serve} run from the jar in front of real PostgreSQL: a larger pool.size
 * takes effect through {@code pgrelay reload}, an invalid file is refused by the API naming the key
 * and changes nothing, and SIGHUP applies a new pool size and log level.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ReloadIT {
    private static final String PASSWORD = "reload-secret-3";
    private static final List<String> JVM = List.of("-XX:+UseSerialGC", "-Dio.netty.leakDetection.level=PARANOID");
    private static final Pattern ADMIN = Pattern.compile("admin endpoint on (http://127\\.0\\.0\\.1:\\d+)");

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
    void poolSizeGrowsLiveThroughTheCli() throws Exception {
        Path config = config("reload-cli.yaml", 2, "info");
        RelayProcess relay = serve(config);
        String admin = admin(relay);

        List<Connection> first = holdTransactions(relay, 2);
        assertEquals(2, backends());
        // Only 2 server connections: the third client waits out query_wait_timeout.
        assertThrows(SQLException.class, () -> inTransaction(track(connect(relay))));
        // Session pooling: closing the clients gives their servers back to the pool.
        for (Connection c : first) {
            c.close();
        }

        writeConfig(config, 5, "info");
        Result r = RelayProcess.run(Duration.ofSeconds(60), Map.of(), "reload", "--admin", admin);
        assertEquals(0, r.exit(), r::toString);
        List<String> lines = r.stdout().lines().toList();
        assertEquals(List.of("key", "old", "new", "status"), List.of(lines.get(0).trim().split("\\s+")), r::toString);
        assertTrue(lines.stream().anyMatch(l -> List.of(l.trim().split("\\s+"))
                .equals(List.of("pool.size", "2", "5", "applied"))), r::toString);

        holdTransactions(relay, 5);
        assertEquals(5, backends());
        assertTrue(relay.stderr().contains("reload: pool.size 2 -> 5 (applied)"), relay::describe);
        assertFalse(relay.stderr().contains("LEAK"), relay::describe);
    }

    @Test
    void invalidConfigIsRefusedAndChangesNothing() throws Exception {
        Path config = config("reload-invalid.yaml", 2, "info");
        RelayProcess relay = serve(config);
        String admin = admin(relay);
        Files.writeString(config, Files.readString(config).replace("size: 2", "size: -1\n  sise: 4"));

        HttpResponse<String> answer = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create(admin + "/api/v1/reload")).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(422, answer.statusCode(), answer::body);
        Map<?, ?> body = (Map<?, ?>) JsonReader.parse(answer.body());
        assertEquals(List.of(), body.get("changed"));
        String errors = body.get("errors").toString();
        assertTrue(errors.contains("pool.size") && errors.contains("-1"), errors);
        assertTrue(errors.contains("unknown key pool.sise"), errors);

        Result cli = RelayProcess.run(Duration.ofSeconds(60), Map.of(), "reload", "--admin", admin);
        assertEquals(1, cli.exit(), cli::toString);
        assertTrue(cli.stderr().contains("pool.sise"), cli::toString);

        try (Connection console = console(relay)) {
            SQLException refused = assertThrows(SQLException.class, () -> console.createStatement().executeQuery("RELOAD"));
            assertEquals("F0000", refused.getSQLState());
            assertTrue(refused.getMessage().contains("pool.sise"), refused.getMessage());
        }

        // Still 2: a third client holding a transaction cannot get a server.
        holdTransactions(relay, 2);
        assertThrows(SQLException.class, () -> inTransaction(track(connect(relay))));
        assertEquals(2, backends());

        writeConfig(config, 3, "info");
        try (Connection console = console(relay); Statement st = console.createStatement();
             ResultSet rs = st.executeQuery("RELOAD")) {
            assertTrue(rs.next());
            assertEquals(List.of("pool.size", "2", "3", "applied"),
                    List.of(rs.getString("key"), rs.getString("old"), rs.getString("new"), rs.getString("status")));
            assertFalse(rs.next());
        }
    }

    /** The admin console, as user app (admin.users), in the simple query protocol it requires. */
    private static Connection console(RelayProcess relay) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "app");
        p.setProperty("password", PASSWORD);
        p.setProperty("preferQueryMode", "simple");
        p.setProperty("sslmode", "disable");
        p.setProperty("gssEncMode", "disable");
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + relay.port() + "/pgrelay", p);
    }

    @Test
    void sighupAppliesPoolSizeAndLogLevel() throws Exception {
        Path config = config("reload-hup.yaml", 2, "info");
        RelayProcess relay = serve(config);
        cancelWithUnknownKey(relay);
        writeConfig(config, 3, "debug");

        Process kill = new ProcessBuilder("kill", "-HUP", Long.toString(relay.pid())).inheritIO().start();
        assertTrue(kill.waitFor(10, TimeUnit.SECONDS));
        assertEquals(0, kill.exitValue());
        relay.awaitStderr("reload: log.level info -> debug (applied), pool.size 2 -> 3 (applied)", Duration.ofSeconds(20));

        String logged = "cancel request with an unknown key ignored";
        assertFalse(relay.stderr().contains(logged), "at info the cancel is not logged" + relay.describe());
        cancelWithUnknownKey(relay);
        relay.awaitStderr(logged, Duration.ofSeconds(20));
        assertTrue(relay.stderr().lines().anyMatch(l -> l.contains(" DEBUG ") && l.contains(logged)), relay::describe);

        holdTransactions(relay, 3);
        assertEquals(3, backends());
        assertTrue(relay.isAlive(), relay::describe);
        assertFalse(relay.stderr().contains("LEAK"), relay::describe);
    }

    @Test
    void usersFileChangeLetsANewUserLogIn() throws Exception {
        String late = "late-secret-5";
        pg.createUser("late", late);
        Path users = dir.resolve("users-late.txt");
        Files.writeString(users, "app: " + PASSWORD + "\n");
        RelayProcess relay = serve(config("reload-users.yaml", 2, "info"), users);
        SQLException refused = assertThrows(SQLException.class, () -> connect(relay, "late", late).close());
        assertEquals("28P01", refused.getSQLState(), refused::getMessage);

        Files.writeString(users, "app: " + PASSWORD + "\nlate: " + late + "\n");
        Result r = RelayProcess.run(Duration.ofSeconds(60), Map.of(), "reload", "--json", "--admin", admin(relay));
        assertEquals(0, r.exit(), r::toString);
        assertEquals(Map.of("changed", List.of(Map.of("key", "auth.users.late", "old", "", "new", "***",
                "status", "applied")), "errors", List.of()), JsonReader.parse(r.stdout()), r::toString);
        assertFalse(relay.stderr().contains(late), relay::describe);

        try (Connection c = connect(relay, "late", late); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT current_user")) {
            assertTrue(rs.next());
            assertEquals("late", rs.getString(1));
        }
    }

    /** Lag limits, on_no_replica and the function lists reach the router at once. */
    @Test
    void routingRulesApplyLive() throws Exception {
        try (Connection c = pg.primary().connect("app"); Statement st = c.createStatement()) {
            st.execute("CREATE OR REPLACE FUNCTION reload_volatile() RETURNS int LANGUAGE sql VOLATILE AS 'SELECT 7'");
        }
        Path config = dir.resolve("reload-routing.yaml");
        writeRoutingConfig(config, "primary", "[]");
        RelayProcess relay = serve(config);
        String admin = admin(relay);
        Connection app = track(connect(relay));
        // Transaction pooling and no replica: a replica-safe read runs on the primary.
        assertEquals(1, scalar(app, "SELECT 1"));
        assertEquals(7, scalar(app, "SELECT reload_volatile()"), "an unlisted volatile function runs on the primary");

        writeRoutingConfig(config, "error", "[reload_volatile]");
        Result r = RelayProcess.run(Duration.ofSeconds(60), Map.of(), "reload", "--admin", admin);
        assertEquals(0, r.exit(), r::toString);
        List<List<String>> rows = r.stdout().lines().map(l -> List.of(l.trim().split("\\s+"))).toList();
        assertTrue(rows.contains(List.of("routing.on_no_replica", "primary", "error", "applied")), r::toString);
        assertTrue(rows.stream().anyMatch(l -> l.getFirst().equals("routing.read_only_functions")
                && l.contains("reload_volatile") && l.getLast().equals("applied")), r::toString);

        SQLException refused = assertThrows(SQLException.class, () -> scalar(app, "SELECT 1"));
        assertEquals("57P03", refused.getSQLState(), refused.getMessage());
        SQLException listed = assertThrows(SQLException.class, () -> scalar(app, "SELECT reload_volatile()"));
        assertEquals("57P03", listed.getSQLState(), "now listed as read-only, it is a replica read: "
                + listed.getMessage());
        try (Statement st = app.createStatement()) {
            st.execute("CREATE TABLE IF NOT EXISTS reload_written (i int)");
        }
        assertFalse(relay.stderr().contains("LEAK"), relay::describe);
    }

    private static void writeRoutingConfig(Path f, String onNoReplica, String readOnlyFunctions) throws IOException {
        Files.writeString(f, "pool:\n  mode: transaction\n  size: 2\n"
                + "routing:\n  on_no_replica: " + onNoReplica + "\n  read_only_functions: " + readOnlyFunctions + "\n"
                + "monitor:\n  user: " + pg.superuser() + "\n  password: " + pg.superuserPassword() + "\n");
    }

    private static int scalar(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            assertTrue(rs.next());
            return rs.getInt(1);
        }
    }

    private static Path config(String name, int size, String level) throws IOException {
        Path f = dir.resolve(name);
        writeConfig(f, size, level);
        return f;
    }

    private static void writeConfig(Path f, int size, String level) throws IOException {
        Files.writeString(f, "pool:\n  mode: session\n  size: " + size + "\n  query_wait_timeout: 1s\n"
                + "log:\n  level: " + level + "\n"
                // The health checks must log in, or the primary is marked down after three of them.
                + "monitor:\n  user: " + pg.superuser() + "\n  password: " + pg.superuserPassword() + "\n");
    }

    private RelayProcess serve(Path config) throws IOException, InterruptedException {
        return serve(config, usersFile);
    }

    private RelayProcess serve(Path config, Path users) throws IOException, InterruptedException {
        return track(RelayProcess.serve(JVM, Map.of("PGRELAY_AUTH_USERS_FILE", users.toString(),
                        "PGRELAY_ADMIN_USERS", "app"),
                List.of("--config", config.toString(), "--primary", "127.0.0.1:" + pg.primary().port())));
    }

    private static String admin(RelayProcess relay) {
        Matcher m = ADMIN.matcher(relay.stderr());
        assertTrue(m.find(), relay::describe);
        return m.group(1);
    }

    /** {@code n} clients, each inside a transaction that has run a statement. */
    private List<Connection> holdTransactions(RelayProcess relay, int n) {
        List<Connection> held = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            try {
                Connection c = track(connect(relay));
                inTransaction(c);
                held.add(c);
            } catch (SQLException e) {
                throw new AssertionError("client " + (i + 1) + " of " + n + ": " + e.getMessage() + relay.describe(), e);
            }
        }
        return held;
    }

    private static void inTransaction(Connection c) throws SQLException {
        c.setAutoCommit(false);
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
            assertTrue(rs.next());
        }
    }

    /** Backends of user app in database app, as PostgreSQL itself counts them. */
    private static int backends() throws SQLException {
        try (Connection c = pg.primary().connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE usename = 'app' "
                     + "AND datname = 'app' AND backend_type = 'client backend'")) {
            assertTrue(rs.next());
            return rs.getInt(1);
        }
    }

    /** A CancelRequest with a key pgrelay never issued, which it ignores with a DEBUG line. */
    private static void cancelWithUnknownKey(RelayProcess relay) throws IOException {
        try (Socket s = new Socket("127.0.0.1", relay.port());
             DataOutputStream out = new DataOutputStream(s.getOutputStream())) {
            s.setSoTimeout(5000);
            out.writeInt(16);
            out.writeInt(80877102);
            out.writeInt(424242);
            out.writeInt(-7);
            out.flush();
            // pgrelay closes the connection after a CancelRequest; wait for that.
            assertEquals(-1, s.getInputStream().read());
        }
    }

    private <T extends AutoCloseable> T track(T resource) {
        return resources.track(resource);
    }

    private static Connection connect(RelayProcess relay) throws SQLException {
        return connect(relay, "app", PASSWORD);
    }

    private static Connection connect(RelayProcess relay, String user, String password) throws SQLException {
        return relay.connect("app", user, password);
    }
}
