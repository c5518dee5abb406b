package io.pgrelay.it.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.support.PrometheusText;
import io.pgrelay.it.support.PrometheusText.Family;
import io.pgrelay.it.support.PrometheusText.Sample;
import io.pgrelay.it.support.RelayHarness;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The pool, query, router-cache, node, failover and traffic metric families on /metrics after a
 * small workload in transaction pooling against a real primary and replica: a client made to
 * wait for the only server connection shows in the wait queue gauge and the wait histogram, and
 * a detached replica reads 0 in pgrelay_node_up. In both pooling modes each request adds exactly
 * one observation to pgrelay_query_duration_seconds.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class OperationsMetricsIT {
    private static final Map<String, String> PRIMARY_POOL = Map.of("database", "app", "user", "app", "node", "primary");
    private static final int READS = 30;
    private static final long HELD_MILLIS = 300;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private Map<String, Family> scrape(RelayHarness h) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(admin(h, "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r::body);
        return PrometheusText.parse(r.body());
    }

    private static URI admin(RelayHarness h, String path) {
        return URI.create("http://127.0.0.1:" + h.relay().adminAddress().getPort() + path);
    }

    private static Family family(Map<String, Family> families, String name, String type) {
        Family f = families.get(name);
        assertTrue(f != null, () -> name + " is not in /metrics; families: " + families.keySet());
        assertEquals(type, f.type(), name);
        assertTrue(!f.samples().isEmpty(), name + " has no samples");
        return f;
    }

    /** The value of the one sample named {@code sample} whose labels include {@code labels}. */
    private static double sample(Family f, String sample, Map<String, String> labels) {
        var matching = f.samples().stream().filter(s -> s.name().equals(sample)
                && s.labels().entrySet().containsAll(labels.entrySet())).toList();
        assertEquals(1, matching.size(), () -> sample + labels + " in " + f.samples());
        return matching.get(0).value();
    }

    /** Checks a histogram's shape: buckets never decrease, +Inf equals the count, the count is at least {@code min}. */
    private static Family histogram(Map<String, Family> families, String name, long min) {
        Family f = family(families, name, "histogram");
        double count = sample(f, name + "_count", Map.of());
        assertTrue(count >= min, () -> name + " count " + count + " < " + min);
        double previous = 0;
        for (Sample s : f.samples().stream().filter(s -> s.name().equals(name + "_bucket")).toList()) {
            assertTrue(s.value() >= previous, () -> "buckets decrease: " + f.samples());
            previous = s.value();
        }
        assertEquals(count, sample(f, name + "_bucket", Map.of("le", "+Inf")), name);
        assertTrue(sample(f, name + "_sum", Map.of()) > 0, name + " sum");
        return f;
    }

    private void awaitMetric(RelayHarness h, String name, Map<String, String> labels, Predicate<Double> ok)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        double value = Double.NaN;
        while (System.nanoTime() < deadline) {
            Family f = scrape(h).get(name);
            if (f != null) {
                value = f.value(labels);
                if (ok.test(value)) {
                    return;
                }
            }
            TimeUnit.MILLISECONDS.sleep(20);
        }
        throw new AssertionError(name + labels + " is " + value + " after 15 s");
    }

    private int post(RelayHarness h, String endpoint) throws Exception {
        return http.send(HttpRequest.newBuilder(admin(h, "/api/v1/" + endpoint))
                .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    @Test
    void everyOperationsFamilyHasSaneValuesAfterAWorkload() throws Exception {
        try (RelayHarness h = RelayHarness.start(Map.of("pool.mode", "transaction", "pool.size", "1",
                "routing.consistency", "eventual", "health_check.lsn_period", "20ms"))) {
            try (Connection c = h.connect(); Statement st = c.createStatement()) {
                st.execute("CREATE TABLE m (id int)");
                for (int i = 0; i < READS; i++) {
                    try (ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_class WHERE relname = 'm'")) {
                        assertTrue(rs.next());
                    }
                }
            }
            // One server connection for the primary pool: B's write waits while A's transaction holds it.
            try (Connection a = h.connect(); Connection b = h.connect(); Statement sa = a.createStatement()) {
                a.setAutoCommit(false);
                sa.execute("INSERT INTO m VALUES (1)");
                CompletableFuture<Integer> waiter = CompletableFuture.supplyAsync(() -> {
                    try (Statement sb = b.createStatement()) {
                        return sb.executeUpdate("INSERT INTO m VALUES (2)");
                    } catch (java.sql.SQLException e) {
                        throw new IllegalStateException(e);
                    }
                });
                awaitMetric(h, "pgrelay_pool_waiting_clients", PRIMARY_POOL, v -> v == 1.0);
                TimeUnit.MILLISECONDS.sleep(HELD_MILLIS);
                a.commit();
                assertEquals(1, waiter.get(10, TimeUnit.SECONDS));
            }
            awaitMetric(h, "pgrelay_pool_waiting_clients", PRIMARY_POOL, v -> v == 0.0);

            Map<String, Family> f = scrape(h);
            Family wait = histogram(f, "pgrelay_pool_wait_seconds", 3);
            double longest = sample(family(f, "pgrelay_pool_wait_seconds_max", "gauge"), "pgrelay_pool_wait_seconds_max",
                    Map.of());
            assertTrue(longest >= HELD_MILLIS / 1000.0, () -> "B waited at least " + HELD_MILLIS + " ms: " + wait);
            histogram(f, "pgrelay_query_duration_seconds", READS);

            Family servers = family(f, "pgrelay_pool_server_connections", "gauge");
            double primaryServers = servers.samples().stream()
                    .filter(s -> s.labels().entrySet().containsAll(PRIMARY_POOL.entrySet()))
                    .mapToDouble(Sample::value).sum();
            assertEquals(1.0, primaryServers, servers::toString);
            assertTrue(servers.samples().stream().allMatch(s -> s.labels().keySet()
                    .containsAll(java.util.List.of("database", "user", "node", "state"))), servers::toString);

            double exact = sample(family(f, "pgrelay_router_cache_hits_total", "counter"),
                    "pgrelay_router_cache_hits_total", Map.of("cache", "exact"));
            assertTrue(exact >= READS - 1, () -> "the repeated SELECT hit the exact-text cache " + exact + " times");
            double misses = family(f, "pgrelay_router_cache_misses_total", "counter").value(Map.of());
            assertTrue(misses >= 2, () -> "CREATE, SELECT, INSERT were parsed: misses " + misses);

            assertEquals(1.0, family(f, "pgrelay_node_up", "gauge").value(Map.of("node", "primary")));
            assertEquals(1.0, family(f, "pgrelay_node_up", "gauge").value(Map.of("node", "replica1")));
            Family role = family(f, "pgrelay_node_role", "gauge");
            assertEquals(1.0, role.value(Map.of("node", "primary", "role", "primary")), role::toString);
            assertEquals(1.0, role.value(Map.of("node", "replica1", "role", "replica")), role::toString);
            assertTrue(family(f, "pgrelay_node_replication_lag_bytes", "gauge").value(Map.of("node", "replica1")) >= 0);
            double lagSeconds = family(f, "pgrelay_node_replication_lag_seconds", "gauge")
                    .value(Map.of("node", "replica1"));
            assertTrue(lagSeconds >= 0 && lagSeconds < 60, () -> "lag " + lagSeconds);
            assertEquals(0.0, family(f, "pgrelay_failovers_total", "counter").value(Map.of()));
            assertEquals(0.0, family(f, "pgrelay_failover_last_duration_seconds", "gauge").value(Map.of()));

            Family bytes = family(f, "pgrelay_client_bytes_total", "counter");
            double in = bytes.value(Map.of("direction", "in"));
            double out = bytes.value(Map.of("direction", "out"));
            // Every read's SQL text went in; every answer (at least a ReadyForQuery each) came out.
            assertTrue(in > READS * 50 && out > READS * 6, () -> "bytes in " + in + ", out " + out);

            assertQueryDurationCountsEachRequest(h);

            assertEquals(200, post(h, "nodes/replica1/detach"));
            awaitMetric(h, "pgrelay_node_up", Map.of("node", "replica1"), v -> v == 0.0);
            assertEquals(200, post(h, "nodes/replica1/attach"));
            awaitMetric(h, "pgrelay_node_up", Map.of("node", "replica1"), v -> v == 1.0);
        }
    }

    @Test
    void sessionPoolingTimesEachRequestToo() throws Exception {
        try (RelayHarness h = RelayHarness.start(Map.of())) {
            assertQueryDurationCountsEachRequest(h);
        }
    }

    /** On one open connection, each statement (one Sync or Query each) adds exactly one observation. */
    private void assertQueryDurationCountsEachRequest(RelayHarness h) throws Exception {
        try (Connection c = h.connect(); Statement st = c.createStatement()) {
            double before = queryCount(h);
            for (int i = 0; i < 10; i++) {
                try (ResultSet rs = st.executeQuery("SELECT " + i)) {
                    assertTrue(rs.next());
                }
            }
            assertEquals(before + 10, queryCount(h));
        }
    }

    private double queryCount(RelayHarness h) throws Exception {
        Family f = scrape(h).get("pgrelay_query_duration_seconds");
        return f == null ? 0 : sample(f, "pgrelay_query_duration_seconds_count", Map.of());
    }
}
