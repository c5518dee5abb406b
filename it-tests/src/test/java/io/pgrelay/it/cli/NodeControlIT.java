package io.pgrelay.it.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.cli.JsonReader;
import io.pgrelay.it.cli.RelayProcess.Result;
import io.pgrelay.it.support.RelayHarness;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code pgrelay promote|attach|detach NODE}, {@code POST /api/v1/nodes/NODE/...} and the console's
 * PROMOTE, ATTACH and DETACH against a real primary and streaming replica, in transaction pooling:
 * a detached replica gets no reads until it is attached again, and refusals carry the reason.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class NodeControlIT {
    private static final String TOKEN = "node-control-it-token-0123456789";
    private static final String REPLICA = "replica1";
    private static final int READS = 20;
    private static RelayHarness h;
    private static String admin;
    private static int primaryPort;
    private static int replicaPort;

    @BeforeAll
    static void start() throws Exception {
        RelayProcess.jar();
        h = RelayHarness.start(Map.of("admin.token", TOKEN, "admin.users", "app", "pool.mode", "transaction",
                "routing.consistency", "eventual", "health_check.lsn_period", "20ms"));
        admin = "http://127.0.0.1:" + h.relay().adminAddress().getPort();
        primaryPort = h.cluster().primary().port();
        replicaPort = h.cluster().replicas().get(0).port();
    }

    @AfterAll
    static void stop() throws Exception {
        if (h != null) {
            h.close();
        }
    }

    private static Result cli(String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--admin", admin));
        return RelayProcess.run(Duration.ofSeconds(90), Map.of("PGRELAY_ADMIN_TOKEN", TOKEN),
                all.toArray(String[]::new));
    }

    private static Result ok(String... args) throws Exception {
        Result r = cli(args);
        assertEquals(0, r.exit(), r::toString);
        return r;
    }

    @SuppressWarnings("unchecked")
    private static String state(String node) throws Exception {
        List<Map<String, Object>> nodes = (List<Map<String, Object>>) JsonReader.parse(ok("nodes", "--json").stdout());
        return (String) nodes.stream().filter(n -> n.get("name").equals(node)).findFirst().orElseThrow().get("state");
    }

    /** The server ports that {@code n} reads, each on a new client connection, landed on. */
    private static List<Integer> readPorts(int n) throws SQLException {
        List<Integer> ports = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            try (Connection c = h.connect(); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT inet_server_port()")) {
                rs.next();
                ports.add(rs.getInt(1));
            }
        }
        return ports;
    }

    /** Reads until one lands on the replica: the monitor must have sampled it first. */
    private static void awaitReadsOnReplica() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            if (readPorts(5).contains(replicaPort)) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no read reached the replica within 20 s: " + h.relay().topology().current());
    }

    @Test
    void detachAndAttachTheReplicaFromTheCli() throws Exception {
        awaitReadsOnReplica();

        Result detached = ok("detach", REPLICA);
        assertTrue(detached.stdout().contains(REPLICA + " detached (was UP)"), detached::toString);
        assertEquals("detached", state(REPLICA));
        List<Integer> ports = readPorts(READS);
        assertTrue(ports.stream().allMatch(p -> p == primaryPort), () -> "reads after detach: " + ports);
        Result again = ok("detach", REPLICA, "--json");
        Map<?, ?> json = (Map<?, ?>) JsonReader.parse(again.stdout());
        assertEquals("detach", json.get("action"));
        assertEquals(REPLICA, json.get("node"));
        assertEquals(true, json.get("done"));
        assertEquals(REPLICA + " is already detached", json.get("message"));

        Result attached = ok("attach", REPLICA);
        assertTrue(attached.stdout().contains(REPLICA + " attached as replica"), attached::toString);
        assertEquals("up", state(REPLICA));
        awaitReadsOnReplica();
    }

    @Test
    void refusalsExitNonZeroWithTheReason() throws Exception {
        Result promote = cli("promote", "primary");
        assertEquals(1, promote.exit(), promote::toString);
        assertTrue(promote.stderr().contains("409") && promote.stderr().contains("primary is already the primary"),
                promote::toString);

        Result detach = cli("detach", "primary", "--json");
        assertEquals(1, detach.exit(), detach::toString);
        assertTrue(detach.stderr().contains("it is the primary in service"), detach::toString);

        Result unknown = cli("attach", "nosuch");
        assertEquals(1, unknown.exit(), unknown::toString);
        assertTrue(unknown.stderr().contains("404") && unknown.stderr().contains("no node is named nosuch; nodes: "
                + "primary, " + REPLICA), unknown::toString);
        assertEquals("up", state("primary"));
    }

    @Test
    void theApiAnswersConflictNotFoundAndWrongMethod() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> conflict = http.send(post("nodes/primary/promote"), HttpResponse.BodyHandlers.ofString());
        assertEquals(409, conflict.statusCode(), conflict::body);
        Map<?, ?> body = (Map<?, ?>) JsonReader.parse(conflict.body());
        assertEquals(false, body.get("done"));
        assertEquals("primary is already the primary", body.get("message"));

        HttpResponse<String> missing = http.send(post("nodes/nosuch/detach"), HttpResponse.BodyHandlers.ofString());
        assertEquals(404, missing.statusCode(), missing::body);

        HttpResponse<String> get = http.send(HttpRequest.newBuilder(URI.create(admin + "/api/v1/nodes/primary/detach"))
                .header("Authorization", "Bearer " + TOKEN).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(405, get.statusCode(), get::body);
        assertEquals("POST", get.headers().firstValue("Allow").orElse(""));
    }

    private static HttpRequest post(String endpoint) {
        return HttpRequest.newBuilder(URI.create(admin + "/api/v1/" + endpoint))
                .header("Authorization", "Bearer " + TOKEN).POST(HttpRequest.BodyPublishers.noBody()).build();
    }

    @Test
    void theConsoleDetachesAttachesAndRefuses() throws Exception {
        Properties simple = new Properties();
        simple.setProperty("preferQueryMode", "simple");
        try (Connection console = h.connect("app", RelayHarness.APP_PASSWORD, "pgrelay", simple, h.port());
             Statement st = console.createStatement()) {
            List<String> help = new ArrayList<>();
            try (ResultSet rs = st.executeQuery("SHOW HELP")) {
                while (rs.next()) {
                    help.add(rs.getString(1));
                }
            }
            assertTrue(help.containsAll(List.of("PROMOTE node", "ATTACH node", "DETACH node")), help::toString);

            SQLException promote = assertThrows(SQLException.class, () -> st.execute("PROMOTE primary"));
            assertEquals("55000", promote.getSQLState());
            assertTrue(promote.getMessage().contains("primary is already the primary"), promote.getMessage());
            SQLException unknown = assertThrows(SQLException.class, () -> st.execute("ATTACH nosuch"));
            assertEquals("42704", unknown.getSQLState());
            assertTrue(unknown.getMessage().contains("no node is named nosuch"), unknown.getMessage());
            SQLException bare = assertThrows(SQLException.class, () -> st.execute("DETACH"));
            assertEquals("42601", bare.getSQLState());

            st.execute("DETACH " + REPLICA);
            String detached = String.valueOf(st.getWarnings());
            assertTrue(detached.contains(REPLICA + " detached"), detached);
            assertEquals("detached", state(REPLICA));
            st.execute("ATTACH \"" + REPLICA + "\"");
            String attached = String.valueOf(st.getWarnings());
            assertTrue(attached.contains(REPLICA + " attached"), attached);
            assertEquals("up", state(REPLICA));
        }
    }
}
