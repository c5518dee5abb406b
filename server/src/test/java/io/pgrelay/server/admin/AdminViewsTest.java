package io.pgrelay.server.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.pgrelay.conf.ConfigLoader;
import io.pgrelay.conf.PgRelayConfig;
import io.pgrelay.failover.NodeState;
import io.pgrelay.failover.Topology;
import io.pgrelay.pool.PoolKey;
import io.pgrelay.pool.ServerAddress;
import io.pgrelay.server.admin.Snapshot.ClientView;
import io.pgrelay.server.admin.Snapshot.PoolView;
import io.pgrelay.server.session.ClientIdentity;
import io.pgrelay.wire.message.backend.BackendMessage.Column;
import io.pgrelay.wire.message.backend.BackendMessage.DataRow;
import io.pgrelay.wire.message.backend.BackendMessage.RowDescription;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The views hold typed values (what the API shows); the console's rendering turns them into text. */
class AdminViewsTest {
    private static final Instant SINCE = Instant.parse("2026-01-02T03:04:05.678Z");
    private final PgRelayConfig config = ConfigLoader.load(Optional.empty(), Map.of(),
            Map.of("primary", "127.0.0.1:5432", "replicas", "127.0.0.1:5433", "pool.size", "7"));
    private final PoolKey key = new PoolKey(new ServerAddress("primary", "127.0.0.1", 5432), "shop", "app");

    @Test
    void poolsSumEventLoopsAndCountClientsByState() {
        Snapshot s = new Snapshot(
                List.of(new PoolView(key, 3, 2, 1, 0, false, 3, 10, 4), new PoolView(key, 1, 0, 1, 0, true, 1, 2, 1)),
                List.of(),
                List.of(client("active", 4242), client("active", 4243), client("waiting", 0), client("idle", 0)));

        View v = AdminViews.pools(s, config);

        assertEquals(List.of("database", "user", "node", "mode", "cl_active", "cl_waiting", "sv_active", "sv_idle",
                "sv_total", "paused"), v.fields().stream().map(View.Field::name).toList());
        assertEquals(List.of(Arrays.asList("shop", "app", "primary", "session", 3L, 1L, 2L, 2L, 4L, true)), v.rows());
    }

    @Test
    void theConsoleShowsBooleansAsYesNoNumbersAsInt8AndNullsAsNull() {
        Snapshot s = new Snapshot(List.of(new PoolView(key, 1, 1, 0, 0, true, 1, 0, 0)), List.of(),
                List.of(client("idle", 0)));

        Reply pools = Reply.table("SHOW", AdminViews.pools(s, config));
        Reply clients = Reply.table("SHOW", AdminViews.clients(s));

        RowDescription columns = (RowDescription) pools.messages().get(0);
        assertEquals(Column.int8("cl_active"), columns.columns().get(4));
        assertEquals(Column.text("paused"), columns.columns().get(9));
        assertEquals("yes", ((DataRow) pools.messages().get(1)).values().get(9));
        assertEquals(Arrays.asList("app", "shop", "idle", "10.0.0.9", "50000", "2026-01-02T03:04:05Z", null, null),
                ((DataRow) clients.messages().get(1)).values());
        assertFalse(pools.failed());
    }

    @Test
    void nodesComeFromTheTopologySnapshot() {
        Topology t = Topology.fromConfig(config.nodes(), SINCE);
        t = t.with(t.replicas().get(0).withState(NodeState.DOWN, "connection refused", SINCE.plusSeconds(60)));

        View v = AdminViews.nodes(t);

        assertEquals(List.of("name", "host", "port", "role", "state", "reason", "since"),
                v.fields().stream().map(View.Field::name).toList());
        assertEquals(2, v.rows().size());
        assertEquals(List.of("127.0.0.1", 5432L, "primary", "up", "configured", "2026-01-02T03:04:05Z"),
                v.rows().get(0).subList(1, 7));
        assertEquals(List.of(5433L, "replica", "down", "connection refused", "2026-01-02T03:05:05Z"),
                v.rows().get(1).subList(2, 7));
    }

    @Test
    void configShowsNoSecrets() {
        PgRelayConfig withToken = ConfigLoader.load(Optional.empty(), Map.of(), Map.of("primary", "127.0.0.1:5432",
                "admin.token", "very-secret-token-0123456789"));

        View v = AdminViews.config(withToken);

        assertEquals(List.of("pool.size", String.valueOf(withToken.pool().size())), v.rows().stream().filter(r -> r.get(0).equals("pool.size"))
                .findFirst().orElseThrow());
        assertFalse(v.rows().toString().contains("very-secret-token"), v.rows()::toString);
    }

    @Test
    void configShowsRoutingWithPerDatabaseAndUserConsistency(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("pgrelay.yaml"), """
                primary: 127.0.0.1:5432
                routing:
                  max_replica_lag_time: 1500ms
                  on_no_replica: error
                  write_function_list: 'a, b.c'
                databases:
                  - {name: app, consistency: eventual}
                users:
                  - {name: batch, consistency: primary}
                """);
        Map<Object, Object> rows = new HashMap<>();
        AdminViews.config(ConfigLoader.load(Optional.of(file), Map.of(), Map.of())).rows()
                .forEach(r -> rows.put(r.get(0), r.get(1)));

        assertEquals("1500ms", rows.get("routing.max_replica_lag_time"));
        assertEquals("error", rows.get("routing.on_no_replica"));
        assertEquals("a,b.c", rows.get("routing.write_functions"));
        assertEquals("300s", rows.get("routing.function_refresh_period"));
        assertEquals("eventual", rows.get("databases.app.consistency"));
        assertEquals("primary", rows.get("users.batch.consistency"));
    }

    private static ClientView client(String state, int serverPid) {
        return new ClientView(new ClientIdentity("app", "shop", SINCE), state,
                new InetSocketAddress("10.0.0.9", 50000), serverPid, null);
    }
}
