package io.pgrelay.it.failover;

import io.pgrelay.conf.ConfigLoader;
import io.pgrelay.conf.PgRelayConfig;
import io.pgrelay.failover.Monitor;
import io.pgrelay.failover.Node;
import io.pgrelay.failover.Topology;
import io.pgrelay.failover.TopologyHolder;
import io.pgrelay.it.fixture.PgCluster;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/** Helpers for the failover tests: a pgrelay config for a fixture cluster and bounded polls. */
final class Clusters {
    private Clusters() {
    }

    /**
     * The cluster's nodes as pgrelay's primary/replicas shorthand (so they are named primary,
     * replica1, ... as in the fixture), monitored as the superuser, with fast checks.
     */
    static PgRelayConfig config(PgCluster pg, Map<String, String> extra) {
        Map<String, String> settings = new HashMap<>(Map.of(
                "primary", address(pg.primary()),
                "replicas", pg.replicas().stream().map(Clusters::address).collect(Collectors.joining(",")),
                "monitor.user", pg.superuser(),
                "monitor.password", pg.superuserPassword(),
                "health_check.period", "200ms",
                "health_check.timeout", "1s",
                "health_check.max_retries", "2",
                "health_check.lsn_period", "50ms",
                "failover.grace_period", "2s"));
        settings.putAll(extra);
        return ConfigLoader.load(Optional.empty(), Map.of(), settings);
    }

    /** A holder with the cluster's nodes as {@link #config} names them. */
    static TopologyHolder holder(PgCluster pg) {
        return new TopologyHolder(Topology.fromConfig(config(pg, Map.of()).nodes(), Instant.now()));
    }

    /** A started monitor; close it. */
    static Monitor monitor(TopologyHolder holder, PgRelayConfig config) {
        Monitor monitor = new Monitor(holder, config.healthCheck(), config.monitor(), true, Clock.systemUTC());
        monitor.start();
        return monitor;
    }

    private static String address(PgCluster.Node n) {
        return n.host() + ":" + n.port();
    }

    /** Polls {@code holder} every 20 ms until {@code done} holds for node {@code name}; fails after {@code timeout}. */
    static Node awaitNode(TopologyHolder holder, String name, Duration timeout, String what, Predicate<Node> done)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Node n = holder.current().node(name).orElseThrow();
            if (done.test(n)) {
                return n;
            }
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError(name + " is not " + what + " after " + timeout.toMillis() + " ms: " + n
                        + "\ntopology: " + holder.current().nodes());
            }
            Thread.sleep(20);
        }
    }

    /** Polls until {@code done} is true; fails after {@code timeout}. */
    static void await(Duration timeout, String what, Check done) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.ok()) {
            if (System.nanoTime() - deadline > 0) {
                throw new AssertionError(what + " after " + timeout.toMillis() + " ms");
            }
            Thread.sleep(50);
        }
    }

    /** A condition that may need the database. */
    interface Check {
        boolean ok() throws Exception;
    }

    static long queryLong(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static String queryString(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** Each standby's received WAL right after the kill, before any promotion (the grace period is 2 s). */
    static Map<String, Long> receivedLsns(PgCluster pg) throws SQLException {
        Map<String, Long> lsns = new HashMap<>();
        for (PgCluster.Node r : pg.replicas()) {
            try (Connection c = r.connect("postgres")) {
                lsns.put(r.name(), Clusters.queryLong(c, "SELECT (pg_last_wal_receive_lsn() - '0/0')::bigint"));
            }
        }
        return lsns;
    }

    /** The other standby streams from the new primary and replays what is written there. */
    static void assertStreamsFrom(PgCluster pg, String primary, String standby) throws Exception {
        try (Connection p = node(pg, primary).connect("postgres")) {
            Clusters.await(Duration.ofSeconds(20), standby + " streaming from " + primary, () -> Clusters.queryLong(p,
                    "SELECT count(*) FROM pg_stat_replication WHERE application_name = '" + standby
                            + "' AND state = 'streaming'") == 1);
            try (Statement st = p.createStatement()) {
                st.execute("CREATE TABLE IF NOT EXISTS after_failover (note text)");
                st.execute("INSERT INTO after_failover VALUES ('written on " + primary + "')");
            }
        }
        try (Connection s = node(pg, standby).connect("postgres")) {
            Clusters.await(Duration.ofSeconds(10), standby + " replays the new primary's writes", () -> {
                try {
                    return Clusters.queryLong(s, "SELECT count(*) FROM after_failover WHERE note = 'written on "
                            + primary + "'") == 1;
                } catch (SQLException e) {
                    return false; // the table has not arrived yet
                }
            });
        }
    }

    static PgCluster.Node node(PgCluster pg, String name) {
        return pg.nodes().stream().filter(n -> n.name().equals(name)).findFirst().orElseThrow();
    }

    /** Waits until the monitor has seen every node of a 1 + 2 cluster answer and sampled its WAL. */
    static void awaitAllUp(TopologyHolder holder) throws InterruptedException {
        for (String name : List.of("primary", "replica1", "replica2")) {
            Clusters.awaitNode(holder, name, Duration.ofSeconds(10), "discovered and UP",
                    n -> n.discovered() && n.usable() && n.wal().sampledAt().getEpochSecond() > 0);
        }
    }
}
