package io.pgrelay.it.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.cli.JsonReader;
import io.pgrelay.it.cli.RelayProcess.Result;
import io.pgrelay.it.support.RelayHarness;
import io.pgrelay.pool.Pools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code pgrelay pools|clients|stats|nodes|pause|resume} run from the shaded jar in their own JVM
 * against a pgrelay (in process) in front of real PostgreSQL: tables, {@code --json}, finding the
 * endpoint and token from flags, environment or the configuration file, and refusals. (An
 * unreachable endpoint is covered in process by the cli's AdminCommandTest.)
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class AdminCliIT {
    private static final String TOKEN = "cli-it-token-0123456789abcdef";
    private static RelayHarness h;
    private static String admin;

    @TempDir
    static Path dir;

    @BeforeAll
    static void start() throws Exception {
        RelayProcess.jar();
        h = RelayHarness.start(Map.of("admin.token", TOKEN));
        admin = "http://127.0.0.1:" + h.relay().adminAddress().getPort();
    }

    @AfterAll
    static void stop() throws Exception {
        if (h != null) {
            h.close();
        }
    }

    /** {@code pgrelay ARGS --admin URL} with the token in PGRELAY_ADMIN_TOKEN; must exit 0. */
    private static Result ok(String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--admin", admin));
        Result r = RelayProcess.run(Duration.ofSeconds(60), Map.of("PGRELAY_ADMIN_TOKEN", TOKEN),
                all.toArray(String[]::new));
        assertEquals(0, r.exit(), r::toString);
        return r;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> json(Result r) {
        return (List<Map<String, Object>>) JsonReader.parse(r.stdout());
    }

    private static List<String> lines(Result r) {
        return r.stdout().lines().toList();
    }

    /** Each row's value of {@code column} starts where the header's name does: the table is aligned. */
    private static void assertAligned(List<String> lines, String column, String... values) {
        int at = lines.get(0).indexOf(column);
        assertTrue(at >= 0, () -> column + " not in " + lines.get(0));
        for (int i = 0; i < values.length; i++) {
            String line = lines.get(i + 1);
            String v = values[i];
            assertTrue(line.startsWith(v, at), () -> "'" + v + "' not under '" + column + "' in\n" + String.join("\n", lines));
        }
    }

    @Test
    void tablesAndJsonShowTheOpenConnections() throws Exception {
        try (Connection a = h.connect(); Connection b = h.connect()) {
            for (Connection c : List.of(a, b)) {
                try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT 1")) {
                    assertTrue(rs.next());
                }
            }

            List<String> clients = lines(ok("clients"));
            assertEquals(3, clients.size(), () -> String.join("\n", clients));
            assertEquals(List.of("user", "database", "state", "addr", "port", "connect_time", "server_pid", "pinned"),
                    Arrays.asList(clients.get(0).split("\\s+")));
            assertAligned(clients, "state", "active", "active");
            assertAligned(clients, "addr", "127.0.0.1", "127.0.0.1");
            List<Map<String, Object>> clientsJson = json(ok("clients", "--json"));
            assertEquals(2, clientsJson.size());
            assertTrue(clientsJson.stream().allMatch(c -> "app".equals(c.get("user")) && "active".equals(c.get("state"))),
                    clientsJson::toString);

            List<String> pools = lines(ok("pools"));
            assertEquals(2, pools.size(), () -> String.join("\n", pools));
            assertEquals(List.of("app", "app", "primary", "session", "2", "0", "2", "0", "2", "no"),
                    Arrays.asList(pools.get(1).split("\\s+")));
            assertAligned(pools, "node", "primary");
            Map<String, Object> pool = json(ok("pools", "--json")).get(0);
            assertEquals(2.0, pool.get("sv_active"));
            assertEquals(false, pool.get("paused"));

            List<String> stats = lines(ok("stats"));
            assertEquals(List.of("database", "user", "total_logins", "total_server_connects", "total_query_count",
                    "total_xact_count"), Arrays.asList(stats.get(0).split("\\s+")));
            String appStats = stats.stream().filter(l -> l.startsWith("app ")).findFirst().orElseThrow();
            assertEquals("2", appStats.split("\\s+")[2], appStats);
            assertTrue(json(ok("stats", "--json")).stream().anyMatch(s -> "app".equals(s.get("database"))
                    && Double.valueOf(2).equals(s.get("total_logins"))));
        }
        h.assertClientsGoneAndNothingLeased();
    }

    @Test
    void nodesFromTheConfigurationFileOrTheFlag() throws Exception {
        Path config = Files.writeString(dir.resolve("pgrelay.yaml"), "primary: \"127.0.0.1:"
                + h.cluster().primary().port() + "\"\nadmin:\n  listen: \"127.0.0.1:"
                + h.relay().adminAddress().getPort() + "\"\n  token: \"" + TOKEN + "\"\n");
        Result fromFile = RelayProcess.run(Duration.ofSeconds(60), Map.of(), "nodes", "--config", config.toString());
        assertEquals(0, fromFile.exit(), fromFile::toString);
        List<String> nodes = lines(fromFile);
        assertEquals(List.of("name", "host", "port", "role", "state", "reason", "since"),
                Arrays.asList(nodes.get(0).split("\\s+")));
        assertEquals(List.of("primary", "127.0.0.1", String.valueOf(h.cluster().primary().port()), "primary", "up"),
                Arrays.asList(nodes.get(1).split("\\s+")).subList(0, 5));
        assertEquals(List.of("replica1", "127.0.0.1", String.valueOf(h.cluster().replicas().get(0).port()), "replica"),
                Arrays.asList(nodes.get(2).split("\\s+")).subList(0, 4));
        assertAligned(nodes, "role", "primary", "replica");

        List<Map<String, Object>> json = json(ok("nodes", "--json"));
        assertEquals(List.of("primary", "replica1"), json.stream().map(n -> n.get("name")).toList());
    }

    @Test
    void pauseAndResumeADatabase() throws Exception {
        h.assertClientsGoneAndNothingLeased();
        try (Connection c = h.connect(); Statement st = c.createStatement()) {
            st.execute("SELECT 1");
        }
        h.assertClientsGoneAndNothingLeased();

        // The effect is read in process: each CLI run is a JVM start, which the suite's time budget counts.
        Pools pools = h.relay().services().pools();
        assertEquals("paused database app\n", ok("pause", "--database", "app").stdout());
        assertTrue(pools.paused("app") && !pools.paused("postgres"));
        assertEquals("resumed database app\n", ok("resume", "--database", "app").stdout());
        assertFalse(pools.paused("app"));
        assertEquals("paused all databases\n", ok("pause").stdout());
        assertTrue(pools.paused("postgres"));
        Map<?, ?> resumed = (Map<?, ?>) JsonReader.parse(ok("resume", "--json").stdout());
        assertEquals("resume", resumed.get("action"));
        assertTrue(resumed.containsKey("database") && resumed.get("database") == null, resumed::toString);
        assertFalse(pools.paused("app") || pools.paused("postgres"));

        Result console = RelayProcess.run(Duration.ofSeconds(60), Map.of("PGRELAY_ADMIN_TOKEN", TOKEN), "pause",
                "--database", "pgrelay", "--admin", admin);
        assertEquals(1, console.exit(), console::toString);
        assertTrue(console.stderr().contains("answered POST /api/v1/pause with 400: the admin console database "
                + "pgrelay cannot be paused"), console::toString);
    }

    @Test
    void aMissingOrWrongTokenExits1() throws Exception {
        Result none = RelayProcess.run(Duration.ofSeconds(60), Map.of(), "pools", "--admin", admin);
        assertEquals(1, none.exit(), none::toString);
        assertTrue(none.stderr().contains("pgrelay at " + admin + " refused the request")
                && none.stderr().contains("PGRELAY_ADMIN_TOKEN"), none::toString);
        Result wrong = RelayProcess.run(Duration.ofSeconds(60), Map.of("PGRELAY_ADMIN", admin),
                "clients", "--token", "not-the-token-0123456789");
        assertEquals(1, wrong.exit(), wrong::toString);
        assertTrue(wrong.stderr().contains("the token is wrong"), wrong::toString);
    }
}
