package io.pgrelay.it.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.support.PrometheusText;
import io.pgrelay.it.support.PrometheusText.Family;
import io.pgrelay.it.support.PrometheusText.Sample;
import io.pgrelay.it.support.RelayHarness;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The HTTP admin endpoint of a pgrelay in front of real PostgreSQL: /metrics parsed as Prometheus
 * text after a small workload, and /health/ready turning 503 when a shutdown begins.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class AdminEndpointIT {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private HttpResponse<String> get(RelayHarness h, String path) throws IOException, InterruptedException {
        URI uri = URI.create("http://127.0.0.1:" + h.relay().adminAddress().getPort() + path);
        return http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void metricsAfterAWorkloadHaveEveryFamilyWithSaneValues() throws Exception {
        try (RelayHarness h = RelayHarness.start(Map.of());
             Connection a = h.connect(); Connection b = h.connect()) {
            for (Connection c : List.of(a, b)) {
                try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_class")) {
                    assertTrue(rs.next());
                }
            }
            assertThrows(SQLException.class, () -> h.connect("app", "wrong-password", "app", new Properties()).close());
            HttpResponse<String> r = get(h, "/metrics");
            assertEquals(200, r.statusCode(), r::body);
            assertTrue(r.headers().firstValue("content-type").orElse("").startsWith("text/plain; version=0.0.4"));
            Map<String, Family> families = PrometheusText.parse(r.body());

            Family clients = family(families, "pgrelay_client_connections", "gauge");
            assertEquals(2.0, clients.value(Map.of("state", "active")), clients::toString);
            assertEquals(0.0, clients.value(Map.of("state", "authenticating")), clients::toString);
            assertTrue(clients.help().contains("state"), clients::toString);

            Family servers = family(families, "pgrelay_server_connections", "gauge");
            assertEquals(2.0, servers.value(Map.of("state", "active")), "session pooling: one server per client");
            assertEquals(0.0, servers.value(Map.of("state", "idle")), servers::toString);
            assertEquals(0.0, servers.value(Map.of("state", "connecting")), servers::toString);
            assertEquals(1.0, family(families, "pgrelay_auth_failures_total", "counter").value(Map.of()),
                    "the one wrong password");

            // One heap pool (e.g. a survivor space) may well be empty; the heap as a whole is not.
            double heapUsed = family(families, "jvm_memory_used_bytes", "gauge").samples().stream()
                    .filter(s -> "heap".equals(s.labels().get("area"))).mapToDouble(Sample::value).sum();
            assertTrue(heapUsed > 0, () -> "heap used " + heapUsed);
            // Counted at each collection, so it may still be 0 in a young JVM.
            assertTrue(family(families, "jvm_gc_memory_allocated_bytes_total", "counter").value(Map.of()) >= 0);
            double live = family(families, "jvm_threads_live_threads", "gauge").value(Map.of());
            assertTrue(live >= 3 && live < 10_000, () -> "live threads " + live);
            assertTrue(family(families, "system_cpu_count", "gauge").value(Map.of()) >= 1);
            double uptime = family(families, "process_uptime_seconds", "gauge").value(Map.of());
            assertTrue(uptime > 0 && uptime < 86_400, () -> "uptime " + uptime);
            double files = family(families, "process_files_open_files", "gauge").value(Map.of());
            assertTrue(files >= 4, () -> "two clients, two servers and the listeners are open files: " + files);

            a.close();
            b.close();
            awaitActiveClients(h, 0.0);
        }
    }

    @Test
    void readyUntilAShutdownBeginsWhileLiveStaysUp() throws Exception {
        try (RelayHarness h = RelayHarness.start(Map.of("shutdown_timeout", "10s"))) {
            assertEquals(200, get(h, "/health/ready").statusCode());
            Connection inTransaction = h.connect();
            inTransaction.setAutoCommit(false);
            try (Statement st = inTransaction.createStatement()) {
                st.execute("SELECT 1");
            }
            // The open transaction holds the drain open, so the endpoint can be watched during it.
            CompletableFuture<Void> shutdown = CompletableFuture.runAsync(() -> {
                try {
                    h.relay().shutdown(Duration.ofSeconds(10));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            HttpResponse<String> draining = awaitStatus(h, "/health/ready", 503);
            assertEquals("{\"status\":\"not ready\",\"reason\":\"shutting down\"}\n", draining.body());
            assertEquals(200, get(h, "/health/live").statusCode());
            inTransaction.commit();
            inTransaction.close();
            shutdown.get(20, TimeUnit.SECONDS);
            assertThrows(IOException.class, () -> get(h, "/health/live"), "the endpoint closes when pgrelay stops");
        }
    }

    private static Family family(Map<String, Family> families, String name, String type) {
        Family f = families.get(name);
        if (f == null) {
            throw new AssertionError(name + " is not in /metrics; families: " + families.keySet());
        }
        assertEquals(type, f.type(), name);
        assertTrue(!f.samples().isEmpty(), name + " has no samples");
        return f;
    }

    private HttpResponse<String> awaitStatus(RelayHarness h, String path, int status) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            HttpResponse<String> r = get(h, path);
            if (r.statusCode() == status || System.nanoTime() > deadline) {
                assertEquals(status, r.statusCode(), r::body);
                return r;
            }
            TimeUnit.MILLISECONDS.sleep(20);
        }
    }

    private void awaitActiveClients(RelayHarness h, double expected) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        double active;
        do {
            active = PrometheusText.parse(get(h, "/metrics").body()).get("pgrelay_client_connections")
                    .value(Map.of("state", "active"));
        } while (active != expected && System.nanoTime() < deadline && sleep());
        assertEquals(expected, active, "active clients after both disconnected");
    }

    private static boolean sleep() throws InterruptedException {
        TimeUnit.MILLISECONDS.sleep(20);
        return true;
    }
}
