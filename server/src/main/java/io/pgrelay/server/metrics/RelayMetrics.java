package io.pgrelay.server.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.pgrelay.pool.Pool;
import io.pgrelay.router.policy.RouteReason;
import io.pgrelay.router.stats.NodeCounters;
import io.pgrelay.router.stats.RoutingCounters;
import io.pgrelay.server.session.ClientHandler;
import io.pgrelay.server.session.ClientState;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.function.ToIntFunction;

/**
 * The meter registry of one pgrelay process, exported as Prometheus text on {@code GET /metrics}.
 *
 * <p>It comes with the JVM and process metrics bound. pgrelay's own meters are named
 * {@code pgrelay.<thing>} in Micrometer's dotted style, which the Prometheus registry writes as
 * {@code pgrelay_<thing>} (counters get {@code _total}, timers {@code _seconds}); add them through
 * {@link #registry()}. Meters are cheap to update from event loops: counters and timers take no
 * lock, and gauges are read only when scraped.
 *
 * @see <a href="https://docs.micrometer.io/micrometer/reference/implementations/prometheus.html">Micrometer:
 *     Prometheus</a>
 */
public final class RelayMetrics implements AutoCloseable {
    /** The prefix of every pgrelay meter name. */
    public static final String PREFIX = "pgrelay.";
    /** Client connections by {@link ClientState}. */
    public static final String CLIENT_CONNECTIONS = PREFIX + "client.connections";
    /** Server connections of all pools by state: connecting, idle, active, resetting. */
    public static final String SERVER_CONNECTIONS = PREFIX + "server.connections";
    /** Failed client logins; Prometheus adds {@code _total}. */
    public static final String AUTH_FAILURES = PREFIX + "auth.failures";
    /** Statements sent to a node, by node and routing reason. */
    public static final String QUERIES = PREFIX + "queries";
    /** Transactions ended on a node (transaction pooling). */
    public static final String TRANSACTIONS = PREFIX + "transactions";

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final JvmGcMetrics gc = new JvmGcMetrics();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile LongSupplier authFailureSource;

    public RelayMetrics() {
        new JvmMemoryMetrics().bindTo(registry);
        gc.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        // Open sockets count against the file limit; a pooler near it refuses clients.
        new FileDescriptorMetrics().bindTo(registry);
    }

    /** Where to register pgrelay's meters. */
    public MeterRegistry registry() {
        return registry;
    }

    /**
     * Registers {@value #CLIENT_CONNECTIONS}{@code {state=...}}, one gauge per client state,
     * counted from the live client set when scraped.
     */
    public void clientConnections(Supplier<? extends Collection<? extends ClientHandler>> clients) {
        for (ClientState state : ClientState.values()) {
            Gauge.builder(CLIENT_CONNECTIONS, () -> clients.get().stream().filter(c -> c.state() == state).count())
                    .description("Client connections by state")
                    .tag("state", state.name().toLowerCase(Locale.ROOT))
                    .register(registry);
        }
    }

    /**
     * Registers {@value #SERVER_CONNECTIONS}{@code {state=...}}, summed over {@code pools} when
     * scraped. The pools' counters belong to their event loops; a scrape reads them without
     * synchronisation and may be a moment behind, which a gauge tolerates.
     */
    public void serverConnections(Supplier<? extends Collection<Pool>> pools) {
        Map<String, ToIntFunction<Pool>> states = new LinkedHashMap<>();
        states.put("connecting", Pool::connecting);
        states.put("idle", Pool::idle);
        states.put("active", Pool::active);
        states.put("resetting", Pool::resetting);
        states.forEach((state, count) -> Gauge.builder(SERVER_CONNECTIONS,
                        () -> pools.get().stream().mapToInt(count).sum())
                .description("Server connections of all pools by state")
                .tag("state", state)
                .register(registry));
    }

    /** Registers {@value #AUTH_FAILURES}, read from {@code failures} when scraped. */
    public void authFailures(LongSupplier failures) {
        authFailureSource = failures;
        // The registry holds a counter's object weakly: this RelayMetrics lives as long as the
        // server, while a lone supplier would be collected and the counter read 0.
        FunctionCounter.builder(AUTH_FAILURES, this, m -> m.authFailureSource.getAsLong())
                .description("Client logins that failed authentication")
                .register(registry);
    }

    /**
     * Registers {@value #QUERIES}{@code {node,reason}} and {@value #TRANSACTIONS}{@code {node}} for
     * every node {@code counters} knows, now or later; read from the counters when scraped.
     */
    public void routing(RoutingCounters counters) {
        // The registry holds each counter's object weakly; RoutingCounters keeps every NodeCounters for good.
        counters.forEachNode(n -> {
            for (RouteReason r : RouteReason.values()) {
                FunctionCounter.builder(QUERIES, n, c -> c.queries(r))
                        .description("Statements sent to a node, by routing reason")
                        .tag("node", n.node()).tag("reason", r.name().toLowerCase(Locale.ROOT))
                        .register(registry);
            }
            FunctionCounter.builder(TRANSACTIONS, n, NodeCounters::transactions)
                    .description("Transactions ended on a node")
                    .tag("node", n.node())
                    .register(registry);
        });
    }

    /** All meters in the Prometheus text exposition format, version 0.0.4. */
    public String scrape() {
        return registry.scrape();
    }

    /** Stops the GC listeners and closes the registry; later calls do nothing. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            gc.close();
            registry.close();
        }
    }
}
