package io.pgrelay.it.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.conf.NodeRole;
import io.pgrelay.conf.PgRelayConfig;
import io.pgrelay.failover.Monitor;
import io.pgrelay.failover.Node;
import io.pgrelay.failover.NodeChange;
import io.pgrelay.failover.NodeState;
import io.pgrelay.failover.Topology;
import io.pgrelay.failover.TopologyHolder;
import io.pgrelay.it.fixture.PgCluster;
import io.pgrelay.it.fixture.PgClusterExtension;
import io.pgrelay.it.fixture.PgClusterSpec;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The monitor alone (no failover controller) against a real primary and two streaming replicas: roles, positions, a replica's death and return. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
class MonitorIT {
    @RegisterExtension
    static final PgClusterExtension PG = new PgClusterExtension(PgClusterSpec.defaults().withReplicas(2)
            .withBackend(PgClusterSpec.Backend.LOCAL));

    @Test
    void seesThePrimaryAndTwoStandbysWithAdvancingPositions() throws Exception {
        PgCluster pg = PG.cluster();
        TopologyHolder holder = Clusters.holder(pg);
        try (Monitor monitor = Clusters.monitor(holder, Clusters.config(pg, Map.of()))) {
            Node primary = Clusters.awaitNode(holder, "primary", Duration.ofSeconds(10), "a sampled primary",
                    n -> n.discovered() && n.wal().currentLsn() > 0 && n.wal().senders().size() == 2);
            assertEquals(NodeRole.PRIMARY, primary.role());
            assertEquals(1, primary.wal().timeline());
            assertEquals(List.of("replica1", "replica2"),
                    primary.wal().senders().stream().map(s -> s.applicationName()).toList());
            for (String name : List.of("replica1", "replica2")) {
                Node r = Clusters.awaitNode(holder, name, Duration.ofSeconds(10), "a sampled standby",
                        n -> n.discovered() && n.wal().replayLsn() > 0);
                assertEquals(NodeRole.REPLICA, r.role());
                assertEquals(NodeState.UP, r.state());
                assertEquals(1, r.wal().timeline());
            }

            long before = holder.current().node("primary").orElseThrow().wal().currentLsn();
            try (Connection c = pg.primary().connect("postgres"); Statement st = c.createStatement()) {
                st.execute("CREATE TABLE monitor_it AS SELECT g FROM generate_series(1, 10000) g");
                long written = Clusters.queryLong(c, "SELECT (pg_current_wal_lsn() - '0/0')::bigint");
                assertTrue(written > before);
                // The LSN samples run every 50 ms, far more often than the 200 ms health check.
                for (String name : List.of("primary", "replica1", "replica2")) {
                    Clusters.awaitNode(holder, name, Duration.ofSeconds(5), "at " + written,
                            n -> n.wal().position() >= written);
                }
                Clusters.awaitNode(holder, "replica1", Duration.ofSeconds(5), "caught up",
                        n -> n.wal().replayLsn() >= written && n.wal().lagBytes() >= 0);
            }
            Topology t = holder.current();
            assertEquals("primary", t.primary().orElseThrow().name());
            assertEquals(2, t.usableReplicas().size());
            assertEquals(List.of(), monitor.privilegeWarnings(), "the superuser lacks nothing");
        }
    }

    @Test
    void aKilledReplicaLeavesWithinPeriodTimesRetriesAndReturnsWhenRestarted() throws Exception {
        PgCluster pg = PG.cluster();
        PgRelayConfig config = Clusters.config(pg, Map.of());
        TopologyHolder holder = Clusters.holder(pg);
        List<NodeChange> changes = new CopyOnWriteArrayList<>();
        holder.subscribe(changes::add);
        try (Monitor monitor = Clusters.monitor(holder, config)) {
            Clusters.awaitNode(holder, "replica2", Duration.ofSeconds(10), "up", n -> n.discovered() && n.usable());

            Instant killedAt = Instant.now();
            pg.replicas().get(1).kill();
            // period x retries, plus one connect timeout for the failing attempt and scheduling slack.
            Duration detection = config.healthCheck().period().multipliedBy(config.healthCheck().maxRetries())
                    .plus(config.healthCheck().timeout()).plusMillis(500);
            // The fixture's kill() also waits for the processes to be reaped, so the bound is
            // checked against the time the node went DOWN, not against when kill() returned.
            Node down = Clusters.awaitNode(holder, "replica2", detection.plusSeconds(10), "DOWN",
                    n -> n.state() == NodeState.DOWN);
            Duration detected = Duration.between(killedAt, down.since());
            System.out.printf("MonitorIT: replica2 DOWN %d ms after SIGKILL (limit %d ms): %s%n", detected.toMillis(),
                    detection.toMillis(), down.reason());
            assertTrue(detected.compareTo(detection) <= 0, () -> "DOWN after " + detected.toMillis() + " ms");
            assertFalse(holder.current().usableReplicas().stream().anyMatch(n -> n.name().equals("replica2")));
            assertEquals("primary", holder.current().primary().orElseThrow().name(), "the primary is untouched");

            pg.replicas().get(1).start();
            Node back = Clusters.awaitNode(holder, "replica2", Duration.ofSeconds(15), "back UP",
                    n -> n.state() == NodeState.UP);
            assertEquals(NodeRole.REPLICA, back.role());
            assertEquals(List.of(NodeState.DOWN, NodeState.UP), changes.stream()
                    .filter(c -> c.after().name().equals("replica2")).map(c -> c.after().state()).toList());
        }
    }

    @Test
    void aMonitorRoleWithoutGrantsIsToldWhichToRun() throws Exception {
        PgCluster pg = PG.cluster();
        pg.createUser("plain_monitor", "plain-secret");
        PgRelayConfig config = Clusters.config(pg, Map.of("monitor.user", "plain_monitor",
                "monitor.password", "plain-secret"));
        TopologyHolder holder = Clusters.holder(pg);
        try (Monitor monitor = Clusters.monitor(holder, config)) {
            Clusters.await(Duration.ofSeconds(10), "privileges checked",
                    () -> !monitor.privilegeWarnings().isEmpty());
            String all = String.join("\n", monitor.privilegeWarnings());
            for (String grant : List.of("GRANT pg_monitor TO \"plain_monitor\"",
                    "GRANT EXECUTE ON FUNCTION pg_promote(boolean, integer) TO \"plain_monitor\"",
                    "GRANT ALTER SYSTEM ON PARAMETER primary_conninfo TO \"plain_monitor\"",
                    "ALTER ROLE \"plain_monitor\" REPLICATION")) {
                assertTrue(all.contains(grant), () -> grant + " missing from:\n" + all);
            }
            // Monitoring itself still works without the grants.
            Clusters.awaitNode(holder, "replica1", Duration.ofSeconds(10), "seen as standby",
                    n -> n.discovered() && n.role() == NodeRole.REPLICA && n.wal().replayLsn() > 0);
        }
    }
}
