package io.pgrelay.it.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.cli.JsonReader;
import io.pgrelay.it.support.RelayHarness;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The JSON API of the admin endpoint ({@code /api/v1/...}) over HTTP against pgrelay in front of
 * real PostgreSQL: what it lists matches the clients, pools and nodes there are.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class AdminApiIT {
    private static final String TOKEN = "api-it-token-0123456789abcdef";
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private HttpResponse<String> send(RelayHarness h, String method, String path) throws Exception {
        URI uri = URI.create("http://127.0.0.1:" + h.relay().adminAddress().getPort() + path);
        return http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(20))
                .header("Authorization", "Bearer " + TOKEN)
                .method(method, HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** The answer to a GET, as the list of objects it must be. */
    @SuppressWarnings("unchecked")
    private List<Map<String, Object>> rows(RelayHarness h, String path) throws Exception {
        HttpResponse<String> r = send(h, "GET", path);
        assertEquals(200, r.statusCode(), r::body);
        assertEquals("application/json", r.headers().firstValue("content-type").orElseThrow());
        return (List<Map<String, Object>>) JsonReader.parse(r.body());
    }

    @Test
    void listsTheClientsPoolsStatsNodesAndConfigThereAre() throws Exception {
        try (RelayHarness h = RelayHarness.start(Map.of("admin.token", TOKEN));
             Connection a = h.connect(); Connection b = h.connect()) {
            for (Connection c : List.of(a, b)) {
                try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT 1")) {
                    assertTrue(rs.next());
                }
            }

            List<Map<String, Object>> clients = rows(h, "/api/v1/clients");
            assertEquals(2, clients.size(), clients::toString);
            for (Map<String, Object> c : clients) {
                assertEquals("app", c.get("user"));
                assertEquals("app", c.get("database"));
                assertEquals("active", c.get("state"), "session pooling: each holds its server");
                assertEquals("127.0.0.1", c.get("addr"));
                assertTrue(((Double) c.get("server_pid")) > 0, c::toString);
                assertEquals(List.of("user", "database", "state", "addr", "port", "connect_time", "server_pid",
                        "pinned"), List.copyOf(c.keySet()));
            }

            List<Map<String, Object>> pools = rows(h, "/api/v1/pools");
            assertEquals(1, pools.size(), pools::toString);
            Map<String, Object> pool = pools.get(0);
            assertEquals("primary", pool.get("node"));
            assertEquals("session", pool.get("mode"));
            assertEquals(2.0, pool.get("cl_active"));
            assertEquals(2.0, pool.get("sv_active"));
            assertEquals(false, pool.get("paused"));

            Map<String, Object> stats = rows(h, "/api/v1/stats").stream()
                    .filter(s -> "app".equals(s.get("database"))).findFirst().orElseThrow();
            assertEquals(2.0, stats.get("total_logins"));
            assertEquals(2.0, stats.get("total_server_connects"));
            assertTrue((Double) stats.get("total_query_count") >= 2, stats::toString);

            List<Map<String, Object>> nodes = rows(h, "/api/v1/nodes");
            assertEquals(List.of("primary", "replica1"), nodes.stream().map(n -> n.get("name")).toList());
            assertEquals((double) h.cluster().primary().port(), nodes.get(0).get("port"));
            assertEquals("primary", nodes.get(0).get("role"));
            assertEquals("replica", nodes.get(1).get("role"));
            assertEquals("up", nodes.get(0).get("state"));

            HttpResponse<String> config = send(h, "GET", "/api/v1/config");
            assertTrue(config.body().contains("{\"key\":\"pool.mode\",\"value\":\"session\"}"), config.body());
            assertFalse(config.body().contains(TOKEN), "the admin token is a secret");
            assertFalse(config.body().contains(RelayHarness.APP_PASSWORD), "passwords are secrets");
        }
    }

    @Test
    void pauseHoldsNewLeasesUntilResume() throws Exception {
        try (RelayHarness h = RelayHarness.start(Map.of("admin.token", TOKEN))) {
            try (Connection c = h.connect(); Statement st = c.createStatement()) {
                st.execute("SELECT 1");
            }
            HttpResponse<String> pause = send(h, "POST", "/api/v1/pause?database=app");
            assertEquals(200, pause.statusCode(), pause::body);
            assertEquals(Map.of("action", "pause", "database", "app", "still_leased", 0.0), JsonReader.parse(pause.body()));
            assertEquals(true, rows(h, "/api/v1/pools").get(0).get("paused"));
            assertEquals(true, rows(h, "/api/v1/databases").get(0).get("paused"));

            HttpResponse<String> resume = send(h, "POST", "/api/v1/resume?database=app");
            assertEquals(200, resume.statusCode(), resume::body);
            assertEquals(false, rows(h, "/api/v1/pools").get(0).get("paused"));
            try (Connection c = h.connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT 2")) {
                assertTrue(rs.next(), "after RESUME a client gets a server again");
                assertEquals(2, rs.getInt(1));
            }
        }
    }
}
