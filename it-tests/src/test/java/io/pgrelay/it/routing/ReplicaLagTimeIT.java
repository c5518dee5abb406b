package io.pgrelay.it.routing;

import static io.pgrelay.it.routing.Routed.port;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.fixture.PgClusterSpec;
import io.pgrelay.it.support.RelayHarness;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code routing.max_replica_lag_time} and {@code routing.on_no_replica: error} against a replica
 * that applies WAL three seconds late: an idle, caught-up replica takes reads however old its
 * replay timestamp, a replica behind by more than the limit takes none, and such a read fails with
 * 57P03 naming the setting.
 */
class ReplicaLagTimeIT {
    private static final Duration MAX_LAG_TIME = Duration.ofSeconds(1);
    private static RelayHarness h;
    private static int replicaPort;

    @BeforeAll
    static void start() throws Exception {
        h = RelayHarness.start(PgClusterSpec.defaults().withReplicas(1)
                        .withReplicaConf("recovery_min_apply_delay = '3s'"),
                Map.of("pool.mode", "transaction", "routing.consistency", "eventual",
                        "routing.max_replica_lag_time", MAX_LAG_TIME.toMillis() + "ms",
                        "routing.on_no_replica", "error", "health_check.lsn_period", "20ms"), "");
        replicaPort = h.cluster().replicas().get(0).port();
        try (Connection c = h.connect(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE lagged (id int)");
        }
        h.cluster().awaitReplicasCaughtUp(Duration.ofSeconds(20));
    }

    @AfterAll
    static void stop() throws Exception {
        if (h != null) {
            h.close();
        }
    }

    @Test
    void anIdleCaughtUpReplicaTakesReadsHoweverOldItsLastCommit() throws Exception {
        Routed.awaitReplica(h, n -> n.wal().receiveLsn() == n.wal().replayLsn(), "caught up");
        // Older than the limit: pg_last_xact_replay_timestamp() alone would make the replica look late.
        Thread.sleep(MAX_LAG_TIME.toMillis() + 200);
        try (Connection c = h.connect(); Statement st = c.createStatement()) {
            for (int i = 0; i < 5; i++) {
                assertEquals(replicaPort, port(st, "SELECT inet_server_port()"), "read " + i);
            }
        }
    }

    @Test
    void aReplicaBeyondTheLagTimeTakesNoReadsAndTheReadFailsWith57P03() throws Exception {
        Routed.awaitReplica(h, n -> n.wal().receiveLsn() == n.wal().replayLsn(), "caught up");
        try (Connection c = h.connect(); Statement st = c.createStatement()) {
            st.executeUpdate("INSERT INTO lagged VALUES (1)");
            long written = System.nanoTime();
            Routed.awaitReplica(h, n -> n.wal().lagTime().compareTo(MAX_LAG_TIME) > 0, "beyond max_replica_lag_time");
            SQLException e = assertThrows(SQLException.class, () -> port(st, "SELECT inet_server_port()"));
            long elapsed = Duration.ofNanos(System.nanoTime() - written).toMillis();
            assertTrue(elapsed < 2800, "the read came " + elapsed + " ms after the write: the replica may have "
                    + "replayed it meanwhile, so the check proves nothing");
            assertEquals("57P03", e.getSQLState(), e.getMessage());
            assertTrue(e.getMessage().contains("routing.on_no_replica is error"), e.getMessage());
            assertTrue(e.getMessage().contains("routing.max_replica_lag_time"), e.getMessage());
            assertEquals(1, st.executeUpdate("INSERT INTO lagged VALUES (2)"),
                    "the refusal is an ERROR: the connection goes on, and a write runs on the primary");
        }
        Routed.awaitReplica(h, n -> n.wal().receiveLsn() == n.wal().replayLsn(), "caught up again");
        try (Connection c = h.connect(); Statement st = c.createStatement()) {
            assertEquals(replicaPort, port(st, "SELECT inet_server_port()"), "back in rotation once caught up");
            assertEquals(replicaPort, port(st, "SELECT inet_server_port() FROM lagged WHERE id = 1"),
                    "the replica has the row");
        }
    }
}
