package io.pgrelay.failover;

import io.pgrelay.conf.PgRelayConfig;
import java.time.Clock;
import java.time.Instant;

/**
 * The failover module as the server uses it: the topology holder, the {@link Monitor} that
 * keeps it current and the {@link FailoverController}, started and stopped together.
 *
 * <pre>{@code
 * FailoverService failover = FailoverService.start(config);
 * Topology now = failover.topology().current();          // lock-free, any thread
 * failover.topology().subscribe(change -> ...);            // state and role changes
 * failover.controller().promote("pg2");                    // blocking: off the event loop
 * failover.close();
 * }</pre>
 */
public final class FailoverService implements AutoCloseable {
    private final TopologyHolder topology;
    private final Monitor monitor;
    private final FailoverController controller;

    private FailoverService(TopologyHolder topology, Monitor monitor, FailoverController controller) {
        this.topology = topology;
        this.monitor = monitor;
        this.controller = controller;
    }

    /** Starts monitoring the configured nodes and, if enabled, automatic failover. */
    public static FailoverService start(PgRelayConfig config) {
        return start(config, new TopologyHolder(Topology.fromConfig(config.nodes(), Instant.now())), Clock.systemUTC());
    }

    /** Starts on an existing holder, e.g. one the router already reads. */
    public static FailoverService start(PgRelayConfig config, TopologyHolder topology, Clock clock) {
        Monitor monitor = new Monitor(topology, config.healthCheck(), config.monitor(), config.failover().enabled(),
                clock);
        FailoverController controller = new FailoverController(topology, config.failover(), config.healthCheck(),
                config.monitor(), config.hooks(), clock);
        controller.start();
        monitor.start();
        return new FailoverService(topology, monitor, controller);
    }

    public TopologyHolder topology() {
        return topology;
    }

    public Monitor monitor() {
        return monitor;
    }

    public FailoverController controller() {
        return controller;
    }

    /** Stops the controller first, so no failover starts while the monitor is going away. */
    @Override
    public void close() {
        controller.close();
        monitor.close();
    }
}
