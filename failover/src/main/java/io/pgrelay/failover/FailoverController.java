package io.pgrelay.failover;

import io.pgrelay.conf.FailoverConfig;
import io.pgrelay.conf.HealthCheckConfig;
import io.pgrelay.conf.MonitorConfig;
import io.pgrelay.conf.NodeRole;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Replaces a failed primary and carries out the operator's promote, detach and attach, all on
 * one thread of its own so that no two of them overlap.
 *
 * <p>When the primary has been DOWN for {@code failover.grace_period}, the standby in service
 * with the most received WAL (ties: higher priority) is promoted with {@code pg_promote()}, unless
 * it lacks more than {@code failover.max_lag} bytes of the furthest position known. The old
 * primary is FENCED before the promotion, so that if it comes back meanwhile it gets no work;
 * the new topology is published once the new primary is out of recovery, and then the other
 * standbys are re-pointed at it ({@code primary_conninfo} + {@code pg_reload_conf()}, with their
 * replication slot created on the new primary first).
 *
 * @see <a href="https://www.postgresql.org/docs/15/warm-standby-failover.html">PostgreSQL: failover</a>
 */
public final class FailoverController implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(FailoverController.class);
    private static final Duration TICK = Duration.ofMillis(100);
    private static final int PROMOTE_WAIT_SECONDS = 60;
    private static final Duration OPERATION_TIMEOUT = Duration.ofSeconds(PROMOTE_WAIT_SECONDS + 30);

    private final TopologyHolder holder;
    private final FailoverConfig config;
    private final HealthCheckConfig health;
    private final MonitorConfig credentials;
    private final Hooks hooks;
    private final Clock clock;
    private final ScheduledExecutorService executor =
            Executors.newSingleThreadScheduledExecutor(Monitor.threads("pgrelay-failover-"));
    private Runnable unsubscribe = () -> { };

    // Written on the controller thread only; read by status().
    private volatile long failovers;
    private volatile long refusals;
    private volatile String alarm = "";
    private volatile Duration lastFailover = Duration.ZERO;
    private Instant refusedEpisode;
    private Instant disabledEpisode;

    public FailoverController(TopologyHolder holder, FailoverConfig config, HealthCheckConfig health,
                              MonitorConfig credentials, io.pgrelay.conf.HooksConfig hooks, Clock clock) {
        this.holder = holder;
        this.config = config;
        this.health = health;
        this.credentials = credentials;
        this.hooks = new Hooks(hooks);
        this.clock = clock;
    }

    /** Starts watching for a failed primary and running the node-down hook. */
    public void start() {
        unsubscribe = holder.subscribe(change -> {
            if (change.after().state() == NodeState.DOWN && change.before().state() == NodeState.UP) {
                Node n = change.after();
                hooks.onNodeDown(Map.of("node", n.name(), "host", n.host(), "port", Integer.toString(n.port())));
            }
        });
        executor.scheduleWithFixedDelay(this::tick, TICK.toMillis(), TICK.toMillis(), TimeUnit.MILLISECONDS);
    }

    public FailoverStatus status() {
        return new FailoverStatus(failovers, refusals, alarm, lastFailover);
    }

    /**
     * Promotes {@code name} now, without waiting for the grace period. Refused unless the node is
     * a standby in service, no primary is in service and the node is within {@code max_lag}.
     * Blocks until done (up to about 90 s): call it off event loops.
     */
    public OperationResult promote(String name) {
        return onNode(name, (n, t) -> {
            Optional<Node> primary = t.primary();
            if (primary.isPresent()) {
                return OperationResult.refused(primary.get().name().equals(name) ? name + " is already the primary"
                        : "cannot promote " + name + ": " + primary.get().name() + " is the primary in service and"
                        + " promoting another node would make two; stop it first (failover then fences it)");
            }
            if (n.state() != NodeState.UP || n.role() != NodeRole.REPLICA) {
                return OperationResult.refused("cannot promote " + name + ": it is " + n.state() + " "
                        + n.role().name().toLowerCase() + ", not a standby in service (" + n.reason() + ")");
            }
            return failover(formerPrimary(t), Optional.of(name), "operator");
        });
    }

    /** Takes a node out of service; refused for the primary in service. */
    public OperationResult detach(String name) {
        return onNode(name, (n, t) -> {
            if (n.state() == NodeState.DETACHED) {
                return OperationResult.done(name + " is already detached");
            }
            if (t.primary().filter(p -> p.name().equals(name)).isPresent()) {
                return OperationResult.refused("cannot detach " + name + ": it is the primary in service and writes"
                        + " would have nowhere to go; promote another node first");
            }
            Instant now = clock.instant();
            holder.update(x -> x.with(name, m -> m.withState(NodeState.DETACHED, "detached by operator", now)));
            return OperationResult.done(name + " detached (was " + n.state() + ")");
        });
    }

    /**
     * Puts a DETACHED or FENCED node back in service after checking it now. Refused when it does
     * not answer, when it is a primary while another primary is in service, and when it is on an
     * older timeline than the primary.
     */
    public OperationResult attach(String name) {
        return onNode(name, (n, t) -> {
            switch (n.state()) {
                case UP -> {
                    return OperationResult.done(name + " is already in service");
                }
                case DOWN -> {
                    return OperationResult.refused("cannot attach " + name + ": it is DOWN (" + n.reason()
                            + "); it returns by itself once its health checks pass");
                }
                default -> {
                    return attachChecked(n, t);
                }
            }
        });
    }

    @Override
    public void close() {
        unsubscribe.run();
        executor.shutdownNow();
        try {
            if (!executor.awaitTermination(health.timeout().toMillis() + 2000, TimeUnit.MILLISECONDS)) {
                log.warn("failover controller still busy at close");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        hooks.close();
    }

    // ---- automatic failover

    private void tick() {
        try {
            Topology t = holder.current();
            if (t.primary().isPresent()) {
                alarm = "";
                return;
            }
            Node down = formerPrimary(t);
            if (down == null || down.state() != NodeState.DOWN) {
                return;
            }
            Instant now = clock.instant();
            Duration downFor = Duration.between(down.since(), now);
            if (downFor.compareTo(config.gracePeriod()) < 0) {
                return;
            }
            if (!config.enabled()) {
                if (!down.since().equals(disabledEpisode)) {
                    disabledEpisode = down.since();
                    alarm = "primary " + down.name() + " is DOWN and failover.enabled is false";
                    log.error("{}; promote a standby with `pgrelay promote NODE`", alarm);
                }
                return;
            }
            OperationResult result = failover(down, Optional.empty(), "primary DOWN for " + downFor.toMillis() + " ms");
            if (result.done()) {
                lastFailover = Duration.between(down.since(), clock.instant());
            } else if (!down.since().equals(refusedEpisode)) {
                // Once per outage: the same refusal every tick would bury everything else in the log.
                refusedEpisode = down.since();
                refusals++;
                alarm = result.message();
                log.error("ALARM: no failover: {}", result.message());
            }
        } catch (RuntimeException e) {
            // An exception would cancel the schedule and end automatic failover for good.
            log.error("failover check failed; it runs again in {} ms", TICK.toMillis(), e);
        }
    }

    /** The node that acts as primary but is not in service, if any. */
    private static Node formerPrimary(Topology t) {
        return t.nodes().stream().filter(n -> n.isPrimary() && !n.usable())
                .min(Comparator.comparing(n -> n.state() != NodeState.DOWN)).orElse(null);
    }

    /** A standby's position read just now. */
    private record Candidate(Node node, long position, long timeline) {
    }

    private OperationResult failover(Node oldPrimary, Optional<String> requested, String why) {
        long started = System.nanoTime();
        List<Candidate> candidates = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        for (Node n : holder.current().usableReplicas()) {
            if (requested.isPresent() ? !requested.get().equals(n.name()) : n.priority() == 0) {
                continue;
            }
            try (Connection c = connect(n)) {
                NodeSql.Sample s = NodeSql.sample(c.prepareStatement(NodeSql.SAMPLE));
                if (!s.inRecovery()) {
                    skipped.add(n.name() + " is no longer in recovery");
                    continue;
                }
                candidates.add(new Candidate(n, Math.max(s.receiveLsn(), s.replayLsn()), NodeSql.timeline(c)));
            } catch (SQLException e) {
                skipped.add(n.name() + " does not answer: " + NodeSql.message(e));
            }
        }
        if (candidates.isEmpty()) {
            return OperationResult.refused("no standby in service can be promoted"
                    + (skipped.isEmpty() ? "" : ": " + String.join("; ", skipped)));
        }
        long furthest = Math.max(oldPrimary == null ? 0 : oldPrimary.wal().currentLsn(),
                candidates.stream().mapToLong(Candidate::position).max().orElseThrow());
        Candidate chosen = candidates.stream()
                .max(Comparator.comparingLong(Candidate::position)
                        .thenComparingInt(c -> c.node().priority())
                        .thenComparing(c -> c.node().name(), Comparator.reverseOrder()))
                .orElseThrow();
        long behind = furthest - chosen.position();
        if (behind > config.maxLag()) {
            return OperationResult.refused("the most advanced standby " + chosen.node().name() + " has WAL up to "
                    + Lsn.format(chosen.position()) + ", " + behind + " bytes behind " + Lsn.format(furthest)
                    + " (the furthest position known), more than failover.max_lag " + config.maxLag());
        }
        String newName = chosen.node().name();
        log.warn("failover ({}): promoting {} at {} (furthest known {}, {} bytes behind){}", why, newName,
                Lsn.format(chosen.position()), Lsn.format(furthest), behind,
                oldPrimary == null ? "" : ", fencing " + oldPrimary.name());
        Instant now = clock.instant();
        if (oldPrimary != null) {
            holder.update(t -> t.with(oldPrimary.name(), n -> n.withState(NodeState.FENCED,
                    "being replaced by " + newName + " in a failover", now)));
        }
        long newLsn;
        long newTimeline;
        try (Connection c = connect(chosen.node())) {
            promote(c, newName);
            newLsn = currentLsn(c);
            newTimeline = NodeSql.timeline(c);
        } catch (SQLException | IllegalStateException e) {
            String message = e instanceof SQLException s ? NodeSql.message(s) : e.getMessage();
            if (oldPrimary != null) {
                // Back as it was: the monitor brings it UP if it answers again.
                Instant then = clock.instant();
                holder.update(t -> t.with(oldPrimary.name(), n -> n.withState(oldPrimary.state(),
                        "failover to " + newName + " failed: " + message, then)));
            }
            return OperationResult.refused("promoting " + newName + " failed: " + message);
        }
        Instant promoted = clock.instant();
        holder.update(t -> {
            Topology next = t.with(newName, n -> n.withObserved(NodeRole.PRIMARY,
                            new Wal(newTimeline, newLsn, 0, 0, 0, Duration.ZERO, List.of(), promoted))
                    .withState(NodeState.UP, "promoted by failover (" + why + ")", promoted));
            return oldPrimary == null ? next : next.with(oldPrimary.name(), n -> n.withState(NodeState.FENCED,
                    "replaced by " + newName + " (timeline " + newTimeline + "); re-attach it after pg_rewind or a"
                            + " new clone", promoted));
        });
        failovers++;
        alarm = "";
        log.warn("failover: {} is the primary on timeline {} at {}, {} ms after the decision", newName, newTimeline,
                Lsn.format(newLsn), (System.nanoTime() - started) / 1_000_000);
        List<String> repointed = config.followPrimary() ? repointStandbys(chosen.node(), oldPrimary) : List.of();
        hooks.onFailover(Map.of(
                "old_primary", oldPrimary == null ? "" : oldPrimary.name(),
                "new_primary", newName,
                "old_lsn", Lsn.format(oldPrimary == null ? 0 : oldPrimary.wal().currentLsn()),
                "new_lsn", Lsn.format(newLsn),
                "new_host", chosen.node().host(),
                "new_port", Integer.toString(chosen.node().port())));
        return OperationResult.done("promoted " + newName + " (timeline " + newTimeline + ")"
                + (oldPrimary == null ? "" : ", fenced " + oldPrimary.name())
                + (repointed.isEmpty() ? "" : "; " + String.join("; ", repointed)));
    }

    /** {@code pg_promote(true, 60)}, then waits until the node is out of recovery. */
    private void promote(Connection c, String name) throws SQLException {
        try (java.sql.Statement st = c.createStatement()) {
            // pg_promote waits up to a minute itself; this connection must outwait it.
            st.execute("SET statement_timeout = " + (PROMOTE_WAIT_SECONDS + 5) * 1000L);
            try (ResultSet rs = st.executeQuery("SELECT pg_promote(true, " + PROMOTE_WAIT_SECONDS + ")")) {
                if (!rs.next() || !rs.getBoolean(1)) {
                    throw new IllegalStateException(name + " did not finish promotion within " + PROMOTE_WAIT_SECONDS
                            + " s");
                }
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(PROMOTE_WAIT_SECONDS);
            while (true) {
                try (ResultSet rs = st.executeQuery("SELECT pg_is_in_recovery()")) {
                    rs.next();
                    if (!rs.getBoolean(1)) {
                        return;
                    }
                }
                if (System.nanoTime() - deadline > 0) {
                    throw new IllegalStateException(name + " is still in recovery " + PROMOTE_WAIT_SECONDS
                            + " s after pg_promote");
                }
                pause(Duration.ofMillis(20));
            }
        }
    }

    /**
     * Points every other reachable standby at the new primary. Each that uses a replication slot
     * gets one of the same name on the new primary first, or its WAL receiver could not start.
     *
     * @return one line per standby: re-pointed, or why not
     */
    private List<String> repointStandbys(Node newPrimary, Node oldPrimary) {
        List<String> results = new ArrayList<>();
        for (Node n : holder.current().nodes()) {
            if (n.name().equals(newPrimary.name()) || (oldPrimary != null && n.name().equals(oldPrimary.name()))
                    || n.role() != NodeRole.REPLICA || n.state() == NodeState.DOWN || n.state() == NodeState.FENCED) {
                continue;
            }
            try (Connection standby = connect(n)) {
                String current = NodeSql.show(standby, "primary_conninfo");
                String slot = NodeSql.show(standby, "primary_slot_name");
                if (current.isBlank()) {
                    results.add(n.name() + " not re-pointed: it has no primary_conninfo");
                    continue;
                }
                String conninfo = Conninfo.parse(current).pointedAt(newPrimary.host(), newPrimary.port()).format();
                if (!slot.isBlank()) {
                    try (Connection primary = connect(newPrimary)) {
                        createSlot(primary, slot);
                    }
                }
                NodeSql.execute(standby, "ALTER SYSTEM SET primary_conninfo = " + NodeSql.literal(conninfo));
                NodeSql.execute(standby, "SELECT pg_reload_conf()");
                log.info("re-pointed {} at {}:{}{}", n.name(), newPrimary.host(), newPrimary.port(),
                        slot.isBlank() ? "" : " (slot " + slot + ")");
                results.add(n.name() + " follows " + newPrimary.name());
            } catch (SQLException | IllegalArgumentException e) {
                String message = e instanceof SQLException s ? NodeSql.message(s) : e.getMessage();
                log.error("could not re-point {} at {}: {}; point it there by hand", n.name(), newPrimary.name(),
                        message);
                results.add(n.name() + " not re-pointed: " + message);
            }
        }
        return results;
    }

    private static void createSlot(Connection primary, String slot) throws SQLException {
        try (PreparedStatement ps = primary.prepareStatement("SELECT pg_create_physical_replication_slot(?, true)"
                + " WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = ?)")) {
            ps.setString(1, slot);
            ps.setString(2, slot);
            ps.execute();
        }
    }

    private static long currentLsn(Connection c) throws SQLException {
        try (java.sql.Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT (pg_current_wal_lsn() - '0/0')::bigint")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    // ---- attach

    private OperationResult attachChecked(Node n, Topology t) {
        NodeSql.Sample s;
        long timeline;
        try (Connection c = connect(n)) {
            s = NodeSql.sample(c.prepareStatement(NodeSql.SAMPLE));
            timeline = NodeSql.timeline(c);
        } catch (SQLException e) {
            return OperationResult.refused("cannot attach " + n.name() + ": it does not answer: " + NodeSql.message(e));
        }
        Optional<Node> primary = t.primary().filter(p -> !p.name().equals(n.name()));
        if (primary.isPresent()) {
            Node p = primary.get();
            if (!s.inRecovery()) {
                return OperationResult.refused("cannot attach " + n.name() + ": it reports being a primary on timeline "
                        + timeline + (timeline < p.wal().timeline() ? ", older than" : " while") + " the primary "
                        + p.name() + "'s timeline " + p.wal().timeline() + "; rewind it with pg_rewind or re-clone it"
                        + " as a standby of " + p.name() + " first");
            }
            if (timeline < p.wal().timeline()) {
                return OperationResult.refused("cannot attach " + n.name() + ": it is on timeline " + timeline
                        + ", older than the primary " + p.name() + "'s timeline " + p.wal().timeline()
                        + "; let it follow " + p.name() + " first (or rewind it)");
            }
        }
        Instant now = clock.instant();
        NodeRole role = s.inRecovery() ? NodeRole.REPLICA : NodeRole.PRIMARY;
        holder.update(x -> x.with(n.name(), m -> m.withObserved(role, new Wal(timeline, s.currentLsn(),
                s.receiveLsn(), s.replayLsn(), 0, Duration.ZERO, List.of(), now))
                .withState(NodeState.UP, "attached by operator", now)));
        return OperationResult.done(n.name() + " attached as " + role.name().toLowerCase() + " on timeline " + timeline);
    }

    // ---- plumbing

    private Connection connect(Node n) throws SQLException {
        return NodeSql.connect(n.host(), n.port(), credentials, health.timeout());
    }

    /** Runs {@code operation} on the controller thread with the named node, refused if there is none. */
    private OperationResult onNode(String name, BiFunction<Node, Topology, OperationResult> operation) {
        return onControllerThread(() -> {
            Topology t = holder.current();
            return t.node(name).map(n -> operation.apply(n, t)).orElseGet(() -> OperationResult.refused(
                    "no node is named " + name + "; nodes: "
                            + String.join(", ", t.nodes().stream().map(Node::name).toList())));
        });
    }

    private OperationResult onControllerThread(Callable<OperationResult> operation) {
        Future<OperationResult> result;
        try {
            result = executor.submit(operation);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            return OperationResult.refused("the failover controller is stopped");
        }
        try {
            return result.get(OPERATION_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return OperationResult.refused("interrupted while waiting for the operation");
        } catch (ExecutionException e) {
            log.error("operation failed", e.getCause());
            return OperationResult.refused("failed: " + e.getCause());
        } catch (TimeoutException e) {
            return OperationResult.refused("no answer within " + OPERATION_TIMEOUT.toSeconds()
                    + " s; it goes on in the background, see the log");
        }
    }

    private static void pause(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the promotion");
        }
    }
}
