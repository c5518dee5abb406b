package io.pgrelay.server.metrics;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.router.policy.RouteReason;
import io.pgrelay.router.stats.RoutingCounters;
import io.pgrelay.conf.NodeConfig;
import io.pgrelay.conf.NodeRole;
import io.pgrelay.failover.FailoverStatus;
import io.pgrelay.failover.NodeState;
import io.pgrelay.failover.Topology;
import io.pgrelay.router.classify.QueryClassifier;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
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

    @Test
    void nodeRowsFollowTheTopologyAtEachScrape() {
        Instant now = Instant.parse("2026-01-02T03:04:05Z");
        AtomicReference<Topology> topology = new AtomicReference<>(Topology.fromConfig(List.of(
                new NodeConfig("pg1", "127.0.0.1", 5432, NodeRole.PRIMARY, 1),
                new NodeConfig("pg2", "127.0.0.1", 5433, NodeRole.REPLICA, 1)), now));
        try (RelayMetrics metrics = new RelayMetrics()) {
            metrics.nodes(topology::get);
            String first = metrics.scrape();
            assertTrue(first.contains("pgrelay_node_role{node=\"pg1\",role=\"primary\"} 1.0\n"), first);
            assertTrue(first.contains("pgrelay_node_role{node=\"pg2\",role=\"replica\"} 1.0\n"), first);
            assertTrue(first.contains("# TYPE pgrelay_node_replication_lag_bytes gauge\n"), first);

            topology.set(Topology.fromConfig(List.of(new NodeConfig("pg2", "127.0.0.1", 5433, NodeRole.PRIMARY, 1)),
                    now).with("pg2", n -> n.withState(NodeState.DETACHED, "test", now)));
            String second = metrics.scrape();
            assertTrue(second.contains("pgrelay_node_up{node=\"pg2\"} 0.0\n"), second);
            assertTrue(second.contains("pgrelay_node_role{node=\"pg2\",role=\"primary\"} 1.0\n"), second);
            assertFalse(second.contains("node=\"pg1\""), "a node gone from the topology leaves no rows: " + second);
            assertFalse(second.contains("role=\"replica\""), second);
        }
    }

    @Test
    void failoversAndRouterCacheAreReadAtScrapeTime() {
        AtomicReference<FailoverStatus> status = new AtomicReference<>(new FailoverStatus(0, 0, "", Duration.ZERO));
        AtomicReference<QueryClassifier.Stats> cache = new AtomicReference<>(
                new QueryClassifier.Stats(0, 0, 0, 0, 0, 0, 0));
        try (RelayMetrics metrics = new RelayMetrics()) {
            metrics.failovers(status::get);
            metrics.routerCache(cache::get);
            status.set(new FailoverStatus(2, 0, "", Duration.ofMillis(1500)));
            cache.set(new QueryClassifier.Stats(7, 3, 4, 0, 0, 0, 0));

            String text = metrics.scrape();

            assertTrue(text.contains("pgrelay_failovers_total 2.0\n"), text);
            assertTrue(text.contains("pgrelay_failover_last_duration_seconds 1.5\n"), text);
            assertTrue(text.contains("pgrelay_router_cache_hits_total{cache=\"exact\"} 7.0\n"), text);
            assertTrue(text.contains("pgrelay_router_cache_hits_total{cache=\"fingerprint\"} 3.0\n"), text);
            assertTrue(text.contains("pgrelay_router_cache_misses_total 4.0\n"), text);
        }
    }
}
