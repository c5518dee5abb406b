package io.pgrelay.server.metrics;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.router.policy.RouteReason;
import io.pgrelay.router.stats.RoutingCounters;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** pgrelay's own meters as Prometheus writes them: names, types, one series per state, values read at scrape time. */
class RelayMetricsTest {
    @Test
    void serverConnectionsHaveOneGaugePerStateAndAuthFailuresAreACounter() {
        AtomicLong failures = new AtomicLong();
        try (RelayMetrics metrics = new RelayMetrics()) {
            metrics.serverConnections(List::of);
            metrics.authFailures(failures::get);
            failures.set(3);

            String text = metrics.scrape();

            assertTrue(text.contains("# TYPE pgrelay_server_connections gauge\n"), text);
            for (String state : List.of("connecting", "idle", "active", "resetting")) {
                assertTrue(text.contains("pgrelay_server_connections{state=\"" + state + "\"} 0.0\n"), state);
            }
            assertTrue(text.contains("# TYPE pgrelay_auth_failures_total counter\n"), text);
            assertTrue(text.contains("pgrelay_auth_failures_total 3.0\n"), text);
        }
    }

    @Test
    void routingCountersArePerNodeAndReasonIncludingNodesSeenLater() {
        RoutingCounters counters = new RoutingCounters();
        counters.of("primary").query(RouteReason.CLASSIFIED_PRIMARY);
        try (RelayMetrics metrics = new RelayMetrics()) {
            metrics.routing(counters);
            counters.of("replica1").query(RouteReason.REPLICA_READ);
            counters.of("replica1").query(RouteReason.REPLICA_READ);
            counters.of("replica1").transaction();

            String text = metrics.scrape();

            assertTrue(text.contains("# TYPE pgrelay_queries_total counter\n"), text);
            assertTrue(text.contains("pgrelay_queries_total{node=\"primary\",reason=\"classified_primary\"} 1.0\n"), text);
            assertTrue(text.contains("pgrelay_queries_total{node=\"replica1\",reason=\"replica_read\"} 2.0\n"), text);
            assertTrue(text.contains("pgrelay_transactions_total{node=\"replica1\"} 1.0\n"), text);
            assertTrue(text.contains("pgrelay_transactions_total{node=\"primary\"} 0.0\n"), text);
        }
    }
}
