package io.pgrelay.server.metrics;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.pgrelay.failover.FailoverStatus;
import io.pgrelay.failover.Node;
import io.pgrelay.failover.NodeState;
import io.pgrelay.failover.Topology;
import io.pgrelay.pool.Pool;
import io.pgrelay.router.policy.RouteReason;
import io.pgrelay.router.stats.NodeCounters;
import io.pgrelay.router.stats.RoutingCounters;
import io.pgrelay.router.classify.QueryClassifier;
import io.pgrelay.server.session.ClientHandler;
import io.pgrelay.server.session.ClientState;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
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
    /** Server connections per pool, tagged database, user, node and state. */
    public static final String POOL_SERVER_CONNECTIONS = PREFIX + "pool.server.connections";
    /** Clients waiting for a server connection, per pool. */
    public static final String POOL_WAITING = PREFIX + "pool.waiting.clients";
    /** 1 for a node in service (UP), 0 otherwise, per node. */
    public static final String NODE_UP = PREFIX + "node.up";
    /** 1, tagged with the node's current role. */
    public static final String NODE_ROLE = PREFIX + "node.role";
    /** How far a replica's replay trails the primary, per node. */
    public static final String NODE_LAG_BYTES = PREFIX + "node.replication.lag.bytes";
    public static final String NODE_LAG_SECONDS = PREFIX + "node.replication.lag.seconds";
    /** Promotions carried out, automatic and manual; Prometheus adds {@code _total}. */
    public static final String FAILOVERS = PREFIX + "failovers";
    /** How long the last automatic failover took; 0 before the first. */
    public static final String LAST_FAILOVER_SECONDS = PREFIX + "failover.last.duration.seconds";
    /** The query classifier's cache: hits tagged by cache, and misses. */
    public static final String ROUTER_CACHE_HITS = PREFIX + "router.cache.hits";
    public static final String ROUTER_CACHE_MISSES = PREFIX + "router.cache.misses";
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
    private volatile Supplier<FailoverStatus> failoverSource;
    private volatile Supplier<QueryClassifier.Stats> classifierSource;
    /** Multi-row gauges whose rows (pools, nodes) come and go: refreshed before each scrape. */
    private final List<Runnable> beforeScrape = new CopyOnWriteArrayList<>();

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

    /**
     * Registers {@value #POOL_SERVER_CONNECTIONS}{@code {database,user,node,state}} and
     * {@value #POOL_WAITING}{@code {database,user,node}}, one row per pool, read when scraped
     * (without synchronisation, as {@link #serverConnections} does).
     */
    public void pools(Supplier<? extends Collection<Pool>> pools) {
        MultiGauge servers = MultiGauge.builder(POOL_SERVER_CONNECTIONS)
                .description("Server connections per pool by state").register(registry);
        MultiGauge waiting = MultiGauge.builder(POOL_WAITING)
                .description("Clients waiting for a server connection, per pool").register(registry);
        beforeScrape.add(() -> {
            List<MultiGauge.Row<?>> serverRows = new ArrayList<>();
            List<MultiGauge.Row<?>> waitingRows = new ArrayList<>();
            for (Pool p : pools.get()) {
                Tags tags = Tags.of("database", p.key().database(), "user", p.key().user(),
                        "node", p.key().node().nodeName());
                serverRows.add(MultiGauge.Row.of(tags.and("state", "connecting"), p.connecting()));
                serverRows.add(MultiGauge.Row.of(tags.and("state", "idle"), p.idle()));
                serverRows.add(MultiGauge.Row.of(tags.and("state", "active"), p.active()));
                serverRows.add(MultiGauge.Row.of(tags.and("state", "resetting"), p.resetting()));
                waitingRows.add(MultiGauge.Row.of(tags, p.waiting()));
            }
            servers.register(serverRows, true);
            waiting.register(waitingRows, true);
        });
    }

    /**
     * Registers {@value #NODE_UP}, {@value #NODE_ROLE}, {@value #NODE_LAG_BYTES} and
     * {@value #NODE_LAG_SECONDS}, one row per node of the topology when scraped.
     */
    public void nodes(Supplier<Topology> topology) {
        MultiGauge up = MultiGauge.builder(NODE_UP).description("1 when the node is in service (UP)")
                .register(registry);
        MultiGauge role = MultiGauge.builder(NODE_ROLE).description("1, tagged with the node's current role")
                .register(registry);
        MultiGauge lagBytes = MultiGauge.builder(NODE_LAG_BYTES).baseUnit("bytes")
                .description("How far the node's replay trails the primary's WAL").register(registry);
        MultiGauge lagSeconds = MultiGauge.builder(NODE_LAG_SECONDS).baseUnit("seconds")
                .description("How long the node's replay trails the primary").register(registry);
        beforeScrape.add(() -> {
            List<MultiGauge.Row<?>> upRows = new ArrayList<>();
            List<MultiGauge.Row<?>> roleRows = new ArrayList<>();
            List<MultiGauge.Row<?>> byteRows = new ArrayList<>();
            List<MultiGauge.Row<?>> secondRows = new ArrayList<>();
            for (Node n : topology.get().nodes()) {
                Tags tags = Tags.of("node", n.name());
                upRows.add(MultiGauge.Row.of(tags, n.state() == NodeState.UP ? 1 : 0));
                roleRows.add(MultiGauge.Row.of(tags.and("role", n.role().name().toLowerCase(Locale.ROOT)), 1));
                byteRows.add(MultiGauge.Row.of(tags, n.wal().lagBytes()));
                secondRows.add(MultiGauge.Row.of(tags, n.wal().lagTime().toNanos() / 1e9));
            }
            up.register(upRows, true);
            role.register(roleRows, true);
            lagBytes.register(byteRows, true);
            lagSeconds.register(secondRows, true);
        });
    }

    /** Registers {@value #FAILOVERS} and {@value #LAST_FAILOVER_SECONDS}, read from {@code status} when scraped. */
    public void failovers(Supplier<FailoverStatus> status) {
        failoverSource = status;
        FunctionCounter.builder(FAILOVERS, this, m -> m.failoverSource.get().failovers())
                .description("Promotions carried out, automatic and manual").register(registry);
        Gauge.builder(LAST_FAILOVER_SECONDS, this, m -> m.failoverSource.get().lastFailover().toNanos() / 1e9)
                .description("Duration of the last automatic failover; 0 before the first").register(registry);
    }

    /** Registers {@value #ROUTER_CACHE_HITS}{@code {cache=exact|fingerprint}} and {@value #ROUTER_CACHE_MISSES}. */
    public void routerCache(Supplier<QueryClassifier.Stats> stats) {
        classifierSource = stats;
        FunctionCounter.builder(ROUTER_CACHE_HITS, this, m -> m.classifierSource.get().exactHits())
                .tag("cache", "exact").description("Statements classified from the query classifier's caches")
                .register(registry);
        FunctionCounter.builder(ROUTER_CACHE_HITS, this, m -> m.classifierSource.get().fingerprintHits())
                .tag("cache", "fingerprint").description("Statements classified from the query classifier's caches")
                .register(registry);
        FunctionCounter.builder(ROUTER_CACHE_MISSES, this, m -> m.classifierSource.get().misses())
                .description("Statements the query classifier had to parse").register(registry);
    }

    /** All meters in the Prometheus text exposition format, version 0.0.4. */
    public String scrape() {
        beforeScrape.forEach(Runnable::run);
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
