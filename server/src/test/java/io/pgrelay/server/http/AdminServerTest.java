package io.pgrelay.server.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.conf.AdminConfig;
import io.pgrelay.conf.HostPort;
import io.pgrelay.server.metrics.RelayMetrics;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
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
}
