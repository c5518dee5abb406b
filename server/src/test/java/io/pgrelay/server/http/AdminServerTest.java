package io.pgrelay.server.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.conf.AdminConfig;
import io.pgrelay.conf.ConfigLoader;
import io.pgrelay.conf.HostPort;
import io.pgrelay.conf.PgRelayConfig;
import io.pgrelay.failover.Topology;
import io.pgrelay.server.admin.AdminApi;
import io.pgrelay.server.admin.TestServices;
import io.pgrelay.server.session.SessionServices;
import io.pgrelay.server.metrics.RelayMetrics;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The admin endpoint over real HTTP: health, readiness flips, metrics, errors as JSON, the bearer token. */
class AdminServerTest {
    private static final String TOKEN = "test-token-0123456789abcdef";
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final RelayMetrics metrics = new RelayMetrics();
    private final AtomicReference<Optional<String>> notReady = new AtomicReference<>(Optional.of("starting"));
    private AdminServer server;

    @AfterEach
    void stop() throws InterruptedException {
        if (server != null) {
            server.close();
        }
        metrics.close();
    }

    private AdminServer start(Optional<String> token) throws Exception {
        server = new AdminServer(new AdminConfig(new HostPort("127.0.0.1", 0), token), metrics, notReady::get).start();
        return server;
    }

    /** An endpoint with the JSON API over {@code services}, whose topology is its configured nodes. */
    private AdminServer startWithApi(Optional<String> token, SessionServices services) throws Exception {
        Topology topology = Topology.fromConfig(services.config().nodes(), Instant.parse("2026-01-02T03:04:05Z"));
        server = new AdminServer(new AdminConfig(new HostPort("127.0.0.1", 0), token), metrics, notReady::get,
                new AdminApi(services, () -> topology)).start();
        return server;
    }

    private HttpResponse<String> send(String method, String path, String authorization) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.localAddress().getPort()
                + path)).timeout(Duration.ofSeconds(10)).method(method, HttpRequest.BodyPublishers.noBody());
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(String path) throws Exception {
        return send("GET", path, null);
    }

    @Test
    void liveAlwaysAndReadyOnlyWhenTheServerSaysSo() throws Exception {
        start(Optional.empty());
        HttpResponse<String> live = get("/health/live");
        assertEquals(200, live.statusCode());
        assertEquals("{\"status\":\"live\"}\n", live.body());
        assertEquals("application/json", live.headers().firstValue("content-type").orElseThrow());

        HttpResponse<String> starting = get("/health/ready");
        assertEquals(503, starting.statusCode());
        assertEquals("{\"status\":\"not ready\",\"reason\":\"starting\"}\n", starting.body());
        notReady.set(Optional.empty());
        HttpResponse<String> ready = get("/health/ready?verbose=1");
        assertEquals(200, ready.statusCode());
        assertEquals("{\"status\":\"ready\"}\n", ready.body());
        notReady.set(Optional.of("shutting down"));
        assertEquals(503, get("/health/ready").statusCode());
    }

    @Test
    void metricsAreThePrometheusTextOfTheRegistry() throws Exception {
        start(Optional.empty());
        metrics.registry().counter("pgrelay.test.events", "kind", "a").increment(3);
        HttpResponse<String> r = get("/metrics");
        assertEquals(200, r.statusCode());
        assertEquals("text/plain; version=0.0.4; charset=utf-8", r.headers().firstValue("content-type").orElseThrow());
        assertTrue(r.body().contains("# TYPE pgrelay_test_events_total counter\n"), r.body());
        assertTrue(r.body().contains("pgrelay_test_events_total{kind=\"a\"} 3.0\n"), r.body());
        assertTrue(r.body().contains("jvm_memory_used_bytes{"), "JVM metrics are bound");
        assertTrue(r.body().contains("process_uptime_seconds "), "process metrics are bound");
    }

    @Test
    void unknownPathsAndWrongMethodsAreJsonErrors() throws Exception {
        start(Optional.empty());
        HttpResponse<String> missing = get("/nope");
        assertEquals(404, missing.statusCode());
        assertEquals("{\"error\":\"not found\",\"message\":\"no endpoint /nope; there are /health/live, /health/ready "
                + "and /metrics\"}\n", missing.body());
        HttpResponse<String> post = send("POST", "/metrics", null);
        assertEquals(405, post.statusCode());
        assertEquals("GET", post.headers().firstValue("allow").orElseThrow());
        assertEquals("{\"error\":\"method not allowed\",\"message\":\"/metrics answers GET only, not POST\"}\n",
                post.body());
    }

    @Test
    void aConfiguredTokenGuardsAllButTheHealthProbes() throws Exception {
        start(Optional.of(TOKEN));
        for (String wrong : new String[] {null, "Bearer nope", "Bearer " + TOKEN + "x", TOKEN}) {
            HttpResponse<String> r = send("GET", "/metrics", wrong);
            assertEquals(401, r.statusCode(), () -> "Authorization: " + wrong);
            assertEquals("Bearer realm=\"pgrelay\"", r.headers().firstValue("www-authenticate").orElseThrow());
            assertTrue(r.body().startsWith("{\"error\":\"unauthorized\""), r.body());
        }
        assertEquals(401, get("/nope").statusCode(), "without the token, paths are not even told apart");
        assertEquals(200, send("GET", "/metrics", "Bearer " + TOKEN).statusCode());
        assertEquals(404, send("GET", "/nope", "Bearer " + TOKEN).statusCode());
        assertEquals(200, get("/health/live").statusCode());
        assertEquals(503, get("/health/ready").statusCode());
    }

    @Test
    void aTakenAddressIsAnErrorNamingItAndTheKey() throws Exception {
        start(Optional.empty());
        int port = server.localAddress().getPort();
        AdminServer second = new AdminServer(new AdminConfig(new HostPort("127.0.0.1", port), Optional.empty()),
                metrics, notReady::get);
        try {
            AdminBindException e = assertThrows(AdminBindException.class, second::start);
            assertTrue(e.getMessage().startsWith("cannot listen on 127.0.0.1:" + port + " (admin.listen): "),
                    e.getMessage());
        } finally {
            second.close();
        }
    }

    @Test
    void theApiAnswersJsonArraysOfSnakeCaseObjects() throws Exception {
        PgRelayConfig config = ConfigLoader.load(Optional.empty(), Map.of(), Map.of("primary", "127.0.0.1:5432",
                "replicas", "127.0.0.1:5433", "admin.token", TOKEN));
        SessionServices services = TestServices.of(config);
        startWithApi(Optional.of(TOKEN), services);
        String bearer = "Bearer " + TOKEN;

        services.router().counters().of("replica1").query(io.pgrelay.router.policy.RouteReason.REPLICA_READ);
        services.router().counters().of("replica1").transaction();
        HttpResponse<String> routing = send("GET", "/api/v1/routing", bearer);
        assertEquals(200, routing.statusCode(), routing::body);
        assertTrue(routing.body().startsWith("[{\"node\":\"replica1\",\"in_flight\":0,\"transactions\":1,"
                + "\"replica_read\":1,\"classified_primary\":0,"), routing.body());

        HttpResponse<String> nodes = send("GET", "/api/v1/nodes", bearer);
        assertEquals(200, nodes.statusCode(), nodes::body);
        assertEquals("application/json", nodes.headers().firstValue("content-type").orElseThrow());
        assertEquals("[{\"name\":\"" + config.nodes().get(0).name() + "\",\"host\":\"127.0.0.1\",\"port\":5432,"
                + "\"role\":\"primary\",\"state\":\"up\",\"reason\":\"configured\",\"since\":\"2026-01-02T03:04:05Z\"},"
                + "{\"name\":\"" + config.nodes().get(1).name() + "\",\"host\":\"127.0.0.1\",\"port\":5433,"
                + "\"role\":\"replica\",\"state\":\"up\",\"reason\":\"configured\",\"since\":\"2026-01-02T03:04:05Z\"}]\n",
                nodes.body());
        for (String view : List.of("pools", "clients", "servers", "stats", "databases")) {
            HttpResponse<String> r = send("GET", "/api/v1/" + view, bearer);
            assertEquals(200, r.statusCode(), r::body);
            assertEquals("[]\n", r.body(), view + " with nothing pooled");
        }
        HttpResponse<String> conf = send("GET", "/api/v1/config", bearer);
        assertEquals(200, conf.statusCode(), conf::body);
        assertTrue(conf.body().startsWith("[{\"key\":\"listen\",\"value\":\""), conf.body());
        assertTrue(conf.body().contains("{\"key\":\"pool.size\",\"value\":\"" + config.pool().size() + "\"}"),
                conf.body());
        assertFalse(conf.body().contains(TOKEN), "the token is a secret");

        assertEquals(401, send("GET", "/api/v1/pools", null).statusCode());
        assertEquals(401, send("POST", "/api/v1/pause", "Bearer wrong").statusCode());
    }

    @Test
    void pauseAndResumeAreActionsWithOptionalDatabase() throws Exception {
        PgRelayConfig config = ConfigLoader.load(Optional.empty(), Map.of(), Map.of("primary", "127.0.0.1:5432"));
        SessionServices services = TestServices.of(config);
        startWithApi(Optional.empty(), services);

        HttpResponse<String> pause = send("POST", "/api/v1/pause?database=shop", null);
        assertEquals(200, pause.statusCode(), pause::body);
        assertEquals("{\"action\":\"pause\",\"database\":\"shop\",\"still_leased\":0}\n", pause.body());
        assertTrue(services.pools().paused("shop"));
        assertFalse(services.pools().paused("crm"));
        HttpResponse<String> resume = send("POST", "/api/v1/resume?database=shop", null);
        assertEquals("{\"action\":\"resume\",\"database\":\"shop\"}\n", resume.body());
        assertFalse(services.pools().paused("shop"));

        assertEquals("{\"action\":\"pause\",\"database\":null,\"still_leased\":0}\n",
                send("POST", "/api/v1/pause", null).body());
        assertTrue(services.pools().paused("crm"), "without database=, every database");
        send("POST", "/api/v1/resume", null);
        assertFalse(services.pools().paused("crm"));

        HttpResponse<String> console = send("POST", "/api/v1/pause?database=pgrelay", null);
        assertEquals(400, console.statusCode());
        assertTrue(console.body().contains("cannot be paused"), console.body());
        assertEquals(400, send("POST", "/api/v1/pause?database=", null).statusCode());
        assertEquals(400, send("POST", "/api/v1/pause?db=shop", null).statusCode());
        assertFalse(services.pools().paused("shop"), "a refused pause pauses nothing");

        HttpResponse<String> get = send("GET", "/api/v1/pause", null);
        assertEquals(405, get.statusCode());
        assertEquals("POST", get.headers().firstValue("allow").orElseThrow());
        assertEquals(405, send("POST", "/api/v1/pools", null).statusCode());
        assertEquals(405, send("GET", "/api/v1/reload", null).statusCode());
        HttpResponse<String> noSource = send("POST", "/api/v1/reload", null);
        assertEquals(422, noSource.statusCode());
        assertEquals("{\"changed\":[],\"errors\":[\"this pgrelay has no configuration to reload\"]}\n", noSource.body());
        HttpResponse<String> unknown = send("GET", "/api/v1/nonesuch", null);
        assertEquals(404, unknown.statusCode());
        assertTrue(unknown.body().contains("GET /api/v1/{pools,clients,servers,stats,databases,config,nodes,routing}"),
                unknown.body());
    }
}
