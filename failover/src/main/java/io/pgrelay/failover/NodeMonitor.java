package io.pgrelay.failover;

import io.pgrelay.conf.HealthCheckConfig;
import io.pgrelay.conf.MonitorConfig;
import io.pgrelay.conf.NodeRole;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches one node over one JDBC connection kept open between checks: a full health check every
 * {@code health_check.period} and a WAL sample every {@code health_check.lsn_period} in between.
 * After {@code max_retries} failed checks in a row the node is DOWN; the next check that passes
 * brings it back UP unless it is FENCED or DETACHED. Runs on one monitor thread at a time.
 */
final class NodeMonitor {
    private static final Logger log = LoggerFactory.getLogger(NodeMonitor.class);

    private final String name;
    private final String host;
    private final int port;
    private final HealthCheckConfig config;
    private final MonitorConfig credentials;
    private final TopologyHolder holder;
    private final Clock clock;
    private final Consumer<Connection> firstConnection;

    private Connection connection;
    private PreparedStatement sample;
    private int failures;
    private long nextCheckNanos;
    private boolean connectedOnce;
    private boolean rejectionLogged;

    NodeMonitor(Node node, HealthCheckConfig config, MonitorConfig credentials, TopologyHolder holder, Clock clock,
                Consumer<Connection> firstConnection) {
        this.name = node.name();
        this.host = node.host();
        this.port = node.port();
        this.config = config;
        this.credentials = credentials;
        this.holder = holder;
        this.clock = clock;
        this.firstConnection = firstConnection;
    }

    String name() {
        return name;
    }

    /** One tick, every {@code lsn_period}: a full check when one is due, else a WAL sample. */
    void tick() {
        long now = System.nanoTime();
        if (now - nextCheckNanos >= 0) {
            nextCheckNanos = now + config.period().toNanos();
            check();
        } else if (sample != null) {
            try {
                Instant before = clock.instant();
                NodeSql.Sample s = NodeSql.sample(sample);
                if (s.inRecovery() != isStandby()) {
                    // A promotion or a restart as another role: the full check re-reads the timeline.
                    nextCheckNanos = System.nanoTime();
                    return;
                }
                publish(s, current().wal().timeline(), current().wal().senders(), before);
            } catch (SQLException e) {
                // A broken connection is found here first; check at once rather than a period later.
                disconnect();
                nextCheckNanos = System.nanoTime() + config.period().toNanos();
                check();
            }
        }
    }

    /** Closes the connection; the monitor thread has stopped calling {@link #tick()}. */
    void close() {
        disconnect();
    }

    private void check() {
        try {
            if (connection == null) {
                connection = NodeSql.connect(host, port, credentials, config.timeout());
                sample = connection.prepareStatement(NodeSql.SAMPLE);
                if (!connectedOnce) {
                    connectedOnce = true;
                    firstConnection.accept(connection);
                }
            }
            Instant before = clock.instant();
            NodeSql.Sample s = NodeSql.sample(sample);
            long timeline = NodeSql.timeline(connection);
            List<WalSender> senders = s.inRecovery() ? List.of() : NodeSql.senders(connection);
            failures = 0;
            publish(s, timeline, senders, before);
        } catch (SQLException e) {
            disconnect();
            failed(e);
        }
    }

    private void failed(SQLException e) {
        if (rejectsMonitor(e)) {
            // The server is running and answered: wrong monitor credentials must not fail the node over.
            if (!rejectionLogged) {
                rejectionLogged = true;
                log.warn("{}: the monitor cannot log in, so its role and WAL position stay unknown; check monitor.user,"
                        + " monitor.password and monitor.database: {}", name, NodeSql.message(e));
            }
            return;
        }
        failures++;
        String reason = "health check failed " + failures + " time(s) in a row: " + NodeSql.message(e);
        log.debug("{}: {}", name, reason);
        if (failures < config.maxRetries()) {
            return;
        }
        Instant now = clock.instant();
        holder.update(t -> t.with(name, n -> n.state() == NodeState.UP ? n.withState(NodeState.DOWN, reason, now) : n));
    }

    /**
     * Authentication refused or no such database: SQLSTATE class 28, 3D000, or 08004 (the driver
     * gave up on the server's authentication request, e.g. no password for SCRAM).
     */
    private static boolean rejectsMonitor(SQLException e) {
        String state = e.getSQLState();
        return state != null && (state.startsWith("28") || state.equals("3D000") || state.equals("08004"));
    }

    /**
     * @param sampledAt taken before the sample query: every position read is at least that recent,
     *                  which read-your-writes relies on
     */
    private void publish(NodeSql.Sample s, long timeline, List<WalSender> senders, Instant sampledAt) {
        Instant now = clock.instant();
        holder.update(t -> {
            Node node = t.node(name).orElseThrow();
            NodeRole role = s.inRecovery() ? NodeRole.REPLICA : NodeRole.PRIMARY;
            long primaryLsn = t.primary().filter(p -> !p.name().equals(name)).map(p -> p.wal().currentLsn()).orElse(0L);
            long lagBytes = s.inRecovery() && primaryLsn > 0 ? Math.max(0, primaryLsn - s.replayLsn()) : 0;
            Duration lagTime = s.inRecovery() && s.replayTimestamp() != null && s.receiveLsn() > s.replayLsn()
                    ? Duration.between(s.replayTimestamp(), now).abs() : Duration.ZERO;
            Node observed = node.withObserved(role, new Wal(timeline, s.currentLsn(), s.receiveLsn(), s.replayLsn(),
                    lagBytes, lagTime, senders, sampledAt));
            if (node.state() == NodeState.DOWN) {
                observed = observed.withState(NodeState.UP, "health check passed", now);
            } else if (node.role() != role && node.state() == NodeState.UP) {
                observed = observed.withState(NodeState.UP, "reports being " + (s.inRecovery() ? "a standby"
                        : "the primary on timeline " + timeline), now);
            }
            return Fencing.resolve(t.with(observed), now);
        });
    }

    private Node current() {
        return holder.current().node(name).orElseThrow();
    }

    private boolean isStandby() {
        return current().role() == NodeRole.REPLICA;
    }

    private void disconnect() {
        NodeSql.closeQuietly(connection);
        connection = null;
        sample = null;
    }
}
