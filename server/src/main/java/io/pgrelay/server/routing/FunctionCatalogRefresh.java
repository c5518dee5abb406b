package io.pgrelay.server.routing;

import io.pgrelay.conf.MonitorConfig;
import io.pgrelay.failover.Node;
import io.pgrelay.failover.TopologyHolder;
import io.pgrelay.router.Router;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads {@code pg_proc} from the current primary (monitor credentials and database) so that
 * function safety follows the catalog: at start, then every {@code routing.function_refresh_period}
 * (0: only at start). Runs on a daemon thread of its own, never an event loop; the router swaps in
 * new rules atomically and drops cached decisions only when the rules changed. On failure the
 * rules in use stay.
 */
public final class FunctionCatalogRefresh implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(FunctionCatalogRefresh.class);

    private final Router router;
    private final TopologyHolder topology;
    private final MonitorConfig monitor;
    private final Duration period;
    private final ScheduledExecutorService thread;
    private boolean loadedOnce;

    private FunctionCatalogRefresh(Router router, TopologyHolder topology, MonitorConfig monitor, Duration period) {
        this.router = router;
        this.topology = topology;
        this.monitor = monitor;
        this.period = period;
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon()
                .name("pgrelay-pg-proc").unstarted(r));
    }

    /** Starts reading at once and then every {@code period}; zero reads once. */
    public static FunctionCatalogRefresh start(Router router, TopologyHolder topology, MonitorConfig monitor,
                                               Duration period) {
        FunctionCatalogRefresh refresh = new FunctionCatalogRefresh(router, topology, monitor, period);
        if (period.isZero()) {
            refresh.thread.execute(refresh::load);
        } else {
            refresh.thread.scheduleWithFixedDelay(refresh::load, 0, period.toMillis(), TimeUnit.MILLISECONDS);
        }
        return refresh;
    }

    private void load() {
        Optional<Node> primary = topology.current().primary();
        if (primary.isEmpty()) {
            log.warn("no primary in service: function safety keeps the rules it has");
            return;
        }
        Node node = primary.get();
        String host = node.host().contains(":") ? "[" + node.host() + "]" : node.host();
        Properties props = new Properties();
        props.setProperty("user", monitor.user());
        if (!monitor.password().isEmpty()) {
            props.setProperty("password", monitor.password());
        }
        props.setProperty("connectTimeout", "5");
        props.setProperty("socketTimeout", "30");
        try (Connection c = DriverManager.getConnection("jdbc:postgresql://" + host + ":" + node.port() + "/"
                + monitor.database(), props)) {
            Router.CatalogLoad result = router.loadFunctionCatalog(c);
            if (!loadedOnce || result.changed()) {
                log.info("function safety from pg_proc of database {} on {}: {} functions{}", monitor.database(),
                        node.name(), result.functions(), loadedOnce ? " (changed; cached routing decisions dropped)"
                                : period.isZero() ? "" : ", re-read every " + period);
            } else {
                log.debug("pg_proc of database {} on {} unchanged", monitor.database(), node.name());
            }
            loadedOnce = true;
        } catch (SQLException | RuntimeException e) {
            log.warn("could not read pg_proc from {}: {}; function safety keeps the rules it has", node.name(),
                    e.getMessage());
        }
    }

    /** Stops the refresh thread; a read under way is interrupted. */
    @Override
    public void close() {
        thread.shutdownNow();
    }
}
