package io.pgrelay.server.session;

import io.netty.channel.EventLoop;
import io.pgrelay.conf.PgRelayConfig;
import io.pgrelay.failover.Node;
import io.pgrelay.failover.Topology;
import io.pgrelay.pool.PoolException;
import io.pgrelay.wire.SqlState;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * One client's wait for a primary during a failover: work that needs the primary while none is in
 * service (or while the one in the topology refuses connections) waits up to
 * {@code failover.wait_timeout} instead of failing at once. It polls the lock-free topology
 * snapshot on the client's event loop, so nothing blocks and nothing is locked; the poll runs only
 * while a client waits, never on the steady path.
 *
 * <p>The deadline is set by the first wait and kept by the waits that follow it (a lease that
 * fails again on the new primary), until {@link #succeeded()}: a client never waits longer than
 * the timeout in total for one piece of work.
 */
final class FailoverWait {
    /** How often the topology is looked at while waiting: well under a health-check period. */
    static final long POLL_MILLIS = 25;
    /** SQLSTATE 57P03: what PostgreSQL answers a login it cannot serve yet. */
    static final String CANNOT_CONNECT_NOW = "57P03";

    private final EventLoop loop;
    private final Supplier<Topology> topology;
    private final Duration timeout;
    private long deadlineNanos;
    private boolean waiting;

    FailoverWait(EventLoop loop, Supplier<Topology> topology, Duration timeout) {
        this.loop = loop;
        this.topology = topology;
        this.timeout = timeout;
    }

    /** A wait bounded by the process's {@code failover.wait_timeout} (none when no configuration is set). */
    static FailoverWait forClient(SessionServices services, EventLoop loop) {
        PgRelayConfig config = services.config();
        return new FailoverWait(loop, () -> services.router().view().topology(),
                config == null ? Duration.ZERO : config.failover().waitTimeout());
    }

    /**
     * True when {@code cause}, a failed lease, is the server being unreachable (refused, reset,
     * timed out) rather than the server answering with an error: a failover may cure it.
     */
    static boolean unreachable(Throwable cause) {
        return cause instanceof PoolException pe && pe.serverError() == null
                && (SqlState.CONNECTION_FAILURE.equals(pe.sqlState())
                || SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION.equals(pe.sqlState()));
    }

    /** True while a wait is under way: the client must not start another lease. */
    boolean waiting() {
        return waiting;
    }

    /** The work got a server: the next failure starts a fresh deadline. */
    void succeeded() {
        deadlineNanos = 0;
    }

    /**
     * Waits for a primary in service; call on the client's loop.
     *
     * @param failedNode the primary a connection just failed to, which must be seen alive again
     *                   (sampled by the monitor after now) or replaced; null when none was in service
     * @param wanted     false once the client has gone: the wait ends silently
     * @param onPrimary  runs on the loop with the primary once there is one
     * @param onTimeout  runs on the loop with the message for the client when the time is up
     */
    void await(String failedNode, BooleanSupplier wanted, Consumer<Node> onPrimary, Consumer<String> onTimeout) {
        long now = System.nanoTime();
        if (deadlineNanos == 0) {
            deadlineNanos = now + timeout.toNanos();
        }
        if (now - deadlineNanos >= 0) {
            onTimeout.accept(timeoutMessage());
            return;
        }
        waiting = true;
        Instant failedAt = Instant.now();
        Runnable[] poll = new Runnable[1];
        poll[0] = () -> {
            if (!wanted.getAsBoolean()) {
                waiting = false;
                return;
            }
            Node primary = topology.get().primary().orElse(null);
            if (primary != null && (!primary.name().equals(failedNode) || primary.wal().sampledAt().isAfter(failedAt))) {
                waiting = false;
                onPrimary.accept(primary);
            } else if (System.nanoTime() - deadlineNanos >= 0) {
                waiting = false;
                onTimeout.accept(timeoutMessage());
            } else {
                loop.schedule(poll[0], POLL_MILLIS, TimeUnit.MILLISECONDS);
            }
        };
        if (failedNode == null) {
            poll[0].run();
        } else {
            loop.schedule(poll[0], POLL_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    private String timeoutMessage() {
        Topology t = topology.get();
        return "no primary node came into service within failover.wait_timeout " + timeout.toMillis()
                + "ms (topology version " + t.version() + ": " + t.nodes() + ")";
    }
}
