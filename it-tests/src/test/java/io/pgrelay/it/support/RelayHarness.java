package io.pgrelay.it.support;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgrelay.conf.ConfigLoader;
import io.pgrelay.conf.PgRelayConfig;
import io.pgrelay.it.fixture.PgCluster;
import io.pgrelay.it.fixture.PgClusterSpec;
import io.pgrelay.pool.Pool;
import io.pgrelay.server.PgRelayServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.stream.Collectors;

/**
 * A real PostgreSQL primary + streaming replicas (every one configured in pgrelay) with an in-process pgrelay in front, for
 * end-to-end tests. Users: {@code app} (plaintext in the users file), {@code scram_app} (the
 * SCRAM verifier copied from pg_authid, so pgrelay logs in with the client's recovered key),
 * each owning a database of the same name. Reads stay on the primary ({@code routing.consistency:
 * primary}) unless a test overrides it. Close it to stop everything.
 */
public final class RelayHarness implements AutoCloseable {
    public static final String APP_PASSWORD = "app-secret";
    public static final String SCRAM_PASSWORD = "scram-secret";

    private final PgCluster cluster;
    private final Path dir;
    private PgRelayServer relay;

    private RelayHarness(PgCluster cluster, Path dir) {
        this.cluster = cluster;
        this.dir = dir;
    }

    /** Starts a cluster with one replica and pgrelay with default settings plus {@code overrides}. */
    public static RelayHarness start(Map<String, String> overrides) throws Exception {
        return start(overrides, "");
    }

    /**
     * As {@link #start(Map)}, with {@code yaml} as pgrelay's configuration file, for what only a
     * file can set (e.g. {@code auth.rules}).
     */
    public static RelayHarness start(Map<String, String> overrides, String yaml) throws Exception {
        return start(PgClusterSpec.defaults().withReplicas(1), overrides, yaml);
    }

    /** As {@link #start(Map, String)}, on a cluster made from {@code spec}. */
    public static RelayHarness start(PgClusterSpec spec, Map<String, String> overrides, String yaml) throws Exception {
        LeakWatch.install();
        PgCluster cluster = PgCluster.start(spec);
        RelayHarness h = null;
        try {
            h = new RelayHarness(cluster, Files.createTempDirectory("pgrelay-it"));
            h.prepareDatabase();
            h.startRelay(overrides, yaml);
            return h;
        } catch (Exception | Error e) {
            if (h != null) {
                h.close();
            } else {
                cluster.close();
            }
            throw e;
        }
    }

    private void prepareDatabase() throws SQLException, IOException {
        cluster.createUser("app", APP_PASSWORD);
        cluster.createDatabase("app", "app");
        cluster.createUser("scram_app", SCRAM_PASSWORD);
        cluster.createDatabase("scram_app", "scram_app");
        String verifier;
        try (Connection c = cluster.primary().connect("postgres"); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT rolpassword FROM pg_authid WHERE rolname = 'scram_app'")) {
            rs.next();
            verifier = rs.getString(1);
        }
        Files.writeString(dir.resolve("users.txt"), "# written by RelayHarness\n"
                + "app: " + APP_PASSWORD + "\n"
                + "scram_app: " + verifier + "\n"
                + cluster.superuser() + ": " + cluster.superuserPassword() + "\n");
    }

    private void startRelay(Map<String, String> overrides, String yaml) throws Exception {
        Map<String, String> o = new LinkedHashMap<>();
        o.put("listen", "127.0.0.1:0");
        o.put("admin.listen", "127.0.0.1:0");
        o.put("primary", "127.0.0.1:" + cluster.primary().port());
        o.put("replicas", cluster.replicas().stream().map(r -> "127.0.0.1:" + r.port())
                .collect(Collectors.joining(",")));
        o.put("auth.users_file", dir.resolve("users.txt").toString());
        o.put("startup_timeout", "2s");
        o.put("shutdown_timeout", "2s");
        o.put("monitor.user", cluster.superuser());
        o.put("monitor.password", cluster.superuserPassword());
        o.put("monitor.database", "postgres");
        // Tests of pooling look at the primary's backends; routing tests set their consistency.
        o.put("routing.consistency", "primary");
        o.putAll(overrides);
        Optional<Path> file = Optional.empty();
        if (!yaml.isEmpty()) {
            file = Optional.of(Files.writeString(dir.resolve("pgrelay.yaml"), yaml));
        }
        PgRelayConfig config = ConfigLoader.load(file, Map.of(), o);
        relay = new PgRelayServer(config).start();
    }

    public PgCluster cluster() {
        return cluster;
    }

    public PgRelayServer relay() {
        return relay;
    }

    public int port() {
        return relay.localAddress().getPort();
    }

    /** A directory for this run's files (the users file); removed by {@link #close()}. */
    public Path dir() {
        return dir;
    }

    public String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port() + "/" + database;
    }

    /** A JDBC connection through pgrelay as {@code app}. */
    public Connection connect() throws SQLException {
        return connect("app", APP_PASSWORD, "app", new Properties());
    }

    public Connection connect(String user, String password, String database, Properties extra) throws SQLException {
        return connect(user, password, database, extra, port());
    }

    /** As {@link #connect(String, String, String, Properties)}, to a pgrelay on another port (a second instance). */
    public Connection connect(String user, String password, String database, Properties extra, int port)
            throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        p.setProperty("connectTimeout", "10");
        p.setProperty("socketTimeout", "60");
        p.putAll(extra);
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/" + database, p);
    }

    /** A superuser connection straight to the primary, bypassing pgrelay, for checks. */
    public Connection direct() throws SQLException {
        return cluster.primary().connect("postgres");
    }

    /**
     * Waits until every client has left pgrelay and no server connection is leased, then asserts
     * that they did: what a test that ran clients to completion leaves behind.
     */
    public void assertClientsGoneAndNothingLeased() throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline && (!relay.services().clients().isEmpty() || leased() > 0)) {
            Thread.sleep(50);
        }
        assertEquals(0, relay.services().clients().size(), "clients still in pgrelay");
        assertEquals(0, leased(), "server connections still leased");
    }

    /** Waits until every server connection is idle in its pool: released ones have finished their reset. */
    public void awaitServersIdle() throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (System.nanoTime() < deadline
                && relay.services().pools().all().stream().anyMatch(p -> p.total() != p.idle())) {
            Thread.sleep(20);
        }
    }

    private int leased() {
        return relay.services().pools().all().stream().mapToInt(Pool::active).sum();
    }

    /** Backends of {@code user} that PostgreSQL currently has, as seen in pg_stat_activity. */
    public int backendsOf(String user) throws SQLException {
        try (Connection c = direct(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE usename = '" + user + "'")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    @Override
    public void close() throws Exception {
        try {
            if (relay != null) {
                relay.shutdown(Duration.ofSeconds(2));
            }
        } finally {
            cluster.close();
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(dir);
        }
        LeakWatch.assertNoLeaks();
    }
}
