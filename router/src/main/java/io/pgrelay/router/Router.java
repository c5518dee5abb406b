package io.pgrelay.router;

import io.pgrelay.failover.Node;
import io.pgrelay.failover.Topology;
import io.pgrelay.failover.TopologyHolder;
import io.pgrelay.router.classify.CatalogFunction;
import io.pgrelay.router.classify.ClassifiedQuery;
import io.pgrelay.router.classify.FunctionLists;
import io.pgrelay.router.classify.FunctionSafety;
import io.pgrelay.router.classify.PgProcLoader;
import io.pgrelay.router.classify.QueryClassifier;
import io.pgrelay.router.policy.ClientRoutingState;
import io.pgrelay.router.policy.RoutingPolicy;
import io.pgrelay.router.policy.RoutingSettings;
import io.pgrelay.router.policy.StatementRoute;
import io.pgrelay.router.stats.RoutingCounters;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * Decides where work runs, from a topology snapshot read without locks. In session pooling a
 * whole session runs on the primary: a session may write at any moment, and its writes and
 * reads must see each other. In transaction pooling each statement is classified and routed by
 * the {@link RoutingPolicy} ({@link #route}).
 */
public final class Router implements AutoCloseable {
    /** SQLSTATE 08006 (connection failure): what a client sees when no primary is in service. */
    static final String CONNECTION_FAILURE = "08006";

    /** JSqlParser refinement runs off the event loop and gives up on a text after this long. */
    private static final Duration PARSE_TIMEOUT = Duration.ofMillis(200);

    private final TopologyHolder topology;
    private final RoutingPolicy policy;
    private final QueryClassifier classifier;
    private final RoutingCounters counters = new RoutingCounters();
    private volatile FunctionLists functionLists;
    /** The last pg_proc read, kept so that new lists can be applied without reading it again. */
    private List<CatalogFunction> catalog;
    /** The view of the latest snapshot, rebuilt only when the monitor publishes a new one. */
    private volatile FailoverTopologyView view;

    /** A router with default routing settings and the built-in function rules. */
    public Router(TopologyHolder topology) {
        this(topology, RoutingSettings.DEFAULTS);
    }

    public Router(TopologyHolder topology, RoutingSettings settings) {
        this(topology, settings, FunctionLists.NONE);
    }

    /** A router whose function rules include the operator's {@code lists} from the start. */
    public Router(TopologyHolder topology, RoutingSettings settings, FunctionLists lists) {
        this.topology = topology;
        this.policy = new RoutingPolicy(settings);
        this.functionLists = lists;
        this.classifier = QueryClassifier.withJSqlParser(lists.withoutCatalog(), PARSE_TIMEOUT,
                QueryClassifier.Settings.DEFAULTS);
    }

    /**
     * What a read of {@code pg_proc} did.
     *
     * @param functions rows read
     * @param changed   whether the rules changed, and with them the cached decisions were dropped
     */
    public record CatalogLoad(int functions, boolean changed) {
    }

    /**
     * Bases function rules on {@code connection}'s {@code pg_proc} plus the configured lists;
     * blocking, so never on an event loop. The classifier's caches are dropped only when the rules
     * differ from the ones in use, so a periodic refresh of an unchanged catalog costs no misses.
     */
    public CatalogLoad loadFunctionCatalog(Connection connection) throws SQLException {
        List<CatalogFunction> rows = PgProcLoader.load(connection);
        synchronized (this) {
            catalog = rows;
            return new CatalogLoad(rows.size(), applyFunctionRules());
        }
    }

    /**
     * Routes with {@code next} and {@code lists} from now on (a reload); cached decisions are
     * dropped only if the function rules change. Called off the event loops.
     */
    public synchronized void reconfigure(RoutingSettings next, FunctionLists lists) {
        policy.settings(next);
        functionLists = lists;
        applyFunctionRules();
    }

    /** Swaps in the rules of the current lists and catalog if they differ from those in use. */
    private boolean applyFunctionRules() {
        FunctionSafety fresh = catalog == null ? functionLists.withoutCatalog() : functionLists.with(catalog);
        boolean changed = !fresh.sameRules(classifier.functionSafety());
        if (changed) {
            classifier.functionSafety(fresh);
        }
        return changed;
    }

    /** Classifies statement texts; thread-safe and never blocking. */
    public QueryClassifier classifier() {
        return classifier;
    }

    /**
     * Where {@code query} runs for {@code client}, over the latest topology; call on the client's
     * event loop.
     *
     * @throws RoutingException when it must run on the primary and none is in service
     */
    public StatementRoute route(ClassifiedQuery query, ClientRoutingState client) {
        return policy.route(query, client, view());
    }

    /** The latest topology as the policy reads it. */
    public FailoverTopologyView view() {
        Topology current = topology.current();
        FailoverTopologyView v = view;
        if (v == null || v.topology() != current) {
            v = FailoverTopologyView.of(current, Instant.now(), System.nanoTime(), counters);
            view = v;
        }
        return v;
    }

    /** Per-node load and routing counts (admin console, HTTP API, metrics). */
    public RoutingCounters counters() {
        return counters;
    }

    /** The node for a new session. */
    public RoutingDecision routeSession() {
        Topology snapshot = topology.current();
        Node primary = snapshot.primary().orElseThrow(() -> new RoutingException(CONNECTION_FAILURE,
                "no primary node is in service (topology version " + snapshot.version() + ")"));
        return new RoutingDecision(RouteTarget.PRIMARY, primary, "session pooling: sessions run on the primary");
    }

    /** Stops the classifier's refinement threads. */
    @Override
    public void close() {
        classifier.close();
    }
}
