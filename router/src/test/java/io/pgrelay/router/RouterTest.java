package io.pgrelay.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.conf.NodeConfig;
import io.pgrelay.conf.NodeRole;
import io.pgrelay.failover.NodeState;
import io.pgrelay.failover.Topology;
import io.pgrelay.failover.TopologyHolder;
import io.pgrelay.router.classify.FakePgProc;
import io.pgrelay.router.classify.FunctionLists;
import io.pgrelay.router.policy.RoutingSettings;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class RouterTest {
    private final Instant now = Instant.parse("2026-11-22T00:00:00Z");
    private final TopologyHolder holder = new TopologyHolder(Topology.fromConfig(List.of(
            new NodeConfig("replica1", "127.0.0.1", 5433, NodeRole.REPLICA, 1),
            new NodeConfig("primary", "127.0.0.1", 5432, NodeRole.PRIMARY, 1)), now));
    private final Router router = new Router(holder);

    @Test
    void sessionsGoToThePrimary() {
        RoutingDecision decision = router.routeSession();
        assertEquals(RouteTarget.PRIMARY, decision.target());
        assertEquals("primary", decision.node().name());
        assertEquals(5432, decision.node().port());
    }

    @Test
    void noPrimaryInServiceIsAConnectionFailure() {
        holder.update(t -> t.with(t.node("primary").orElseThrow().withState(NodeState.DOWN, "refused", now)));
        RoutingException e = assertThrows(RoutingException.class, router::routeSession);
        assertEquals("08006", e.sqlState());
    }

    @Test
    void configuredListsApplyBeforeAnyCatalogAndCachesSurviveAnUnchangedRefresh() throws SQLException {
        try (Router r = new Router(holder, RoutingSettings.DEFAULTS,
                new FunctionLists(List.of("App.Report"), List.of("lower")))) {
            assertTrue(r.classifier().classify("SELECT app.report()").classification().replicaSafe(),
                    "the read-only list holds before pg_proc is read");
            assertFalse(r.classifier().classify("SELECT lower('A')").classification().replicaSafe(),
                    "the write list beats the built-in allow list");

            Object[][] rows = {{"app", "fresh", "s", ""}, {"pg_catalog", "lower", "i", "text"}};
            assertEquals(new Router.CatalogLoad(2, true), r.loadFunctionCatalog(new FakePgProc(rows).connection()));
            assertTrue(r.classifier().classify("SELECT app.fresh()").classification().replicaSafe());
            long hits = r.classifier().stats().exactHits();
            assertEquals(new Router.CatalogLoad(2, false), r.loadFunctionCatalog(new FakePgProc(rows).connection()));
            r.classifier().classify("SELECT app.fresh()");
            assertEquals(hits + 1, r.classifier().stats().exactHits(), "an unchanged catalog keeps the caches");

            Object[][] changed = {{"app", "fresh", "v", ""}, {"pg_catalog", "lower", "i", "text"}};
            assertEquals(new Router.CatalogLoad(2, true), r.loadFunctionCatalog(new FakePgProc(changed).connection()));
            assertFalse(r.classifier().classify("SELECT app.fresh()").classification().replicaSafe(),
                    "a changed volatility drops the cached verdict");
            assertTrue(r.classifier().classify("SELECT app.report()").classification().replicaSafe(),
                    "the configured lists survive every refresh");
        }
    }

    @Test
    void aReloadReplacesTheListsOverTheCatalogAlreadyRead() throws SQLException {
        try (Router r = new Router(holder, RoutingSettings.DEFAULTS, FunctionLists.NONE)) {
            Object[][] rows = {{"app", "fresh", "v", ""}};
            r.loadFunctionCatalog(new FakePgProc(rows).connection());
            assertFalse(r.classifier().classify("SELECT app.fresh()").classification().replicaSafe());

            r.reconfigure(RoutingSettings.DEFAULTS, new FunctionLists(List.of("app.fresh"), List.of()));
            assertTrue(r.classifier().classify("SELECT app.fresh()").classification().replicaSafe(),
                    "the new read-only list applies to a function of the catalog read before");

            r.reconfigure(RoutingSettings.DEFAULTS, FunctionLists.NONE);
            assertFalse(r.classifier().classify("SELECT app.fresh()").classification().replicaSafe(),
                    "and taking it out again drops the cached verdict");
        }
    }
}
