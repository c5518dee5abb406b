package io.pgrelay.server.admin;

import static io.pgrelay.server.admin.View.Field.bool;
import static io.pgrelay.server.admin.View.Field.int8;
import static io.pgrelay.server.admin.View.Field.text;

import io.pgrelay.conf.AuthRule;
import io.pgrelay.conf.NodeConfig;
import io.pgrelay.conf.PgRelayConfig;
import io.pgrelay.conf.PoolConfig;
import io.pgrelay.conf.PoolOverride;
import io.pgrelay.failover.Node;
import io.pgrelay.failover.Topology;
import io.pgrelay.pool.PoolKey;
import io.pgrelay.router.policy.RouteReason;
import io.pgrelay.router.stats.NodeCounters;
import io.pgrelay.server.admin.Snapshot.ClientView;
import io.pgrelay.server.admin.Snapshot.PoolView;
import io.pgrelay.server.admin.Snapshot.ServerView;
import io.pgrelay.server.session.RelayStats.DatabaseUser;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * The tables of the console's SHOW commands and of the HTTP API's GETs, built from a
 * {@link Snapshot}, the configuration and the topology: one place, two renderings.
 */
final class AdminViews {
    private static final Comparator<PoolKey> BY_KEY = Comparator.comparing(PoolKey::database)
            .thenComparing(PoolKey::user).thenComparing(k -> k.node().nodeName());

    private AdminViews() {
    }

    /** One row per (database, user, node) pool, summed over event loops. */
    static View pools(Snapshot s, PgRelayConfig config) {
        Map<PoolKey, long[]> counts = new TreeMap<>(BY_KEY);
        for (PoolView p : s.pools()) {
            long[] c = counts.computeIfAbsent(p.key(), k -> new long[5]);
            c[0] += p.active();
            c[1] += p.idle();
            c[2] += p.total();
            c[3] += p.paused() ? 1 : 0;
        }
        List<List<Object>> rows = new ArrayList<>();
        for (Map.Entry<PoolKey, long[]> e : counts.entrySet()) {
            PoolKey k = e.getKey();
            long[] c = e.getValue();
            rows.add(row(k.database(), k.user(), k.node().nodeName(), config.pool().modeFor(k.database(), k.user()).configName(),
                    clients(s, k, "active", "idle"), clients(s, k, "waiting"), c[0], c[1], c[2], c[3] > 0));
        }
        return new View(List.of(text("database"), text("user"), text("node"), text("mode"),
                int8("cl_active"), int8("cl_waiting"), int8("sv_active"), int8("sv_idle"), int8("sv_total"),
                bool("paused")), rows);
    }

    /** Clients of the pool's database and user in one of {@code states}. */
    private static long clients(Snapshot s, PoolKey key, String... states) {
        List<String> wanted = Arrays.asList(states);
        return s.clients().stream()
                .filter(c -> c.identity().database().equals(key.database()) && c.identity().user().equals(key.user())
                        && wanted.contains(c.state()))
                .count();
    }

    static View clients(Snapshot s) {
        List<List<Object>> rows = new ArrayList<>();
        List<ClientView> sorted = new ArrayList<>(s.clients());
        sorted.sort(Comparator.comparing((ClientView c) -> c.identity().since()).thenComparing(c -> String.valueOf(c.address())));
        for (ClientView c : sorted) {
            rows.add(row(c.identity().user(), c.identity().database(), c.state(), host(c.address()),
                    port(c.address()), c.identity().since().truncatedTo(ChronoUnit.SECONDS).toString(),
                    c.serverPid() == 0 ? null : (long) c.serverPid(), c.pinReason()));
        }
        return new View(List.of(text("user"), text("database"), text("state"), text("addr"),
                int8("port"), text("connect_time"), int8("server_pid"), text("pinned")), rows);
    }

    static View servers(Snapshot s) {
        List<ServerView> sorted = new ArrayList<>(s.servers());
        sorted.sort(Comparator.comparing(ServerView::key, BY_KEY).thenComparing(ServerView::processId));
        List<List<Object>> rows = new ArrayList<>();
        for (ServerView v : sorted) {
            rows.add(row(v.key().node().nodeName(), v.key().database(), v.key().user(), v.state(),
                    (long) v.processId(), v.age().toSeconds(), host(v.client()), port(v.client())));
        }
        return new View(List.of(text("node"), text("database"), text("user"), text("state"), int8("pid"),
                int8("age_seconds"), text("client_addr"), int8("client_port")), rows);
    }

    /**
     * Counters per (database, user): logins, server connections opened, and the servers'
     * ReadyForQuery count (queries) and how many of those ended a transaction.
     */
    static View stats(Snapshot s, Map<DatabaseUser, Long> logins) {
        Map<DatabaseUser, long[]> counts = new TreeMap<>();
        logins.forEach((k, n) -> counts.computeIfAbsent(k, x -> new long[4])[0] = n);
        for (PoolView p : s.pools()) {
            long[] c = counts.computeIfAbsent(new DatabaseUser(p.key().database(), p.key().user()), x -> new long[4]);
            c[1] += p.serversOpened();
            c[2] += p.answered();
            c[3] += p.transactions();
        }
        List<List<Object>> rows = new ArrayList<>();
        counts.forEach((k, c) -> rows.add(row(k.database(), k.user(), c[0], c[1], c[2], c[3])));
        return new View(List.of(text("database"), text("user"), int8("total_logins"),
                int8("total_server_connects"), int8("total_query_count"), int8("total_xact_count")), rows);
    }

    /** One row per (node, database) that has a pool: pgrelay serves any database the server has. */
    static View databases(Snapshot s, PgRelayConfig config, Function<String, Boolean> paused) {
        Map<PoolKey, long[]> byNodeAndDatabase = new TreeMap<>(BY_KEY);
        for (PoolView p : s.pools()) {
            // The user is left out of the key: one row for all users of the database on the node.
            byNodeAndDatabase.computeIfAbsent(new PoolKey(p.key().node(), p.key().database(), ""), k -> new long[1])[0]
                    += p.total();
        }
        List<List<Object>> rows = new ArrayList<>();
        byNodeAndDatabase.forEach((k, total) -> rows.add(row(k.database(), k.node().nodeName(), k.node().host(),
                (long) k.node().port(), config.pool().modeFor(k.database(), "").configName(),
                (long) config.pool().sizeFor(k.database()), total[0],
                paused.apply(k.database()))));
        return new View(List.of(text("database"), text("node"), text("host"), int8("port"), text("pool_mode"),
                int8("pool_size"), int8("sv_total"), bool("paused")), rows);
    }

    /** One row per node of the topology snapshot, in configuration order. */
    static View nodes(Topology t) {
        List<List<Object>> rows = new ArrayList<>();
        for (Node n : t.nodes()) {
            rows.add(row(n.name(), n.host(), (long) n.port(), n.role().name().toLowerCase(Locale.ROOT),
                    n.state().name().toLowerCase(Locale.ROOT), n.reason(),
                    n.since().truncatedTo(ChronoUnit.SECONDS).toString()));
        }
        return new View(List.of(text("name"), text("host"), int8("port"), text("role"), text("state"), text("reason"),
                text("since")), rows);
    }

    /**
     * One row per node routing has seen: server connections leased to clients there now
     * ({@code in_flight}), transactions ended there, then the statements sent there per routing
     * reason, one column each (the {@link RouteReason} names in lower case).
     */
    static View routing(List<NodeCounters> nodes) {
        List<View.Field> fields = new ArrayList<>(List.of(text("node"), int8("in_flight"), int8("transactions")));
        for (RouteReason r : RouteReason.values()) {
            fields.add(int8(r.name().toLowerCase(Locale.ROOT)));
        }
        List<List<Object>> rows = new ArrayList<>();
        for (NodeCounters n : nodes) {
            List<Object> row = new ArrayList<>(List.of(n.node(), (long) n.outstanding(), n.transactions()));
            for (RouteReason r : RouteReason.values()) {
                row.add(n.queries(r));
            }
            rows.add(row);
        }
        return new View(fields, rows);
    }

    /** The effective configuration as key/value rows; the users file's secrets are never shown. */
    static View config(PgRelayConfig c) {
        List<List<Object>> rows = new ArrayList<>();
        rows.add(row("listen", c.listen().toString()));
        for (int i = 0; i < c.nodes().size(); i++) {
            NodeConfig n = c.nodes().get(i);
            rows.add(row("nodes[" + i + "]", n.name() + " " + n.address() + " " + n.role().name().toLowerCase(Locale.ROOT)
                    + " weight " + n.weight()));
        }
        rows.add(row("auth.users_file", c.auth().usersFile().map(Object::toString).orElse("")));
        for (int i = 0; i < c.auth().rules().size(); i++) {
            AuthRule r = c.auth().rules().get(i);
            rows.add(row("auth.rules[" + i + "]", r.address() + " " + r.database() + " " + r.user() + " "
                    + r.method().configName()));
        }
        PoolConfig p = c.pool();
        rows.add(row("pool.mode", p.mode().configName()));
        rows.add(row("pool.size", String.valueOf(p.size())));
        rows.add(row("pool.server_reset_query", p.serverResetQuery()));
        rows.add(row("pool.server_connect_timeout", duration(p.serverConnectTimeout())));
        rows.add(row("pool.query_wait_timeout", duration(p.queryWaitTimeout())));
        rows.add(row("pool.max_prepared_statements", String.valueOf(p.maxPreparedStatements())));
        rows.add(row("pool.min_pool_size", String.valueOf(p.minPoolSize())));
        rows.add(row("pool.reserve_pool_size", String.valueOf(p.reservePoolSize())));
        rows.add(row("pool.reserve_pool_timeout", duration(p.reservePoolTimeout())));
        rows.add(row("pool.max_client_conn", String.valueOf(p.maxClientConn())));
        rows.add(row("pool.server_idle_timeout", duration(p.serverIdleTimeout())));
        rows.add(row("pool.server_lifetime", duration(p.serverLifetime())));
        rows.add(row("pool.server_check_delay", duration(p.serverCheckDelay())));
        for (PoolOverride d : p.databases()) {
            rows.add(row("databases." + d.name(), override(d)));
        }
        for (PoolOverride u : p.users()) {
            rows.add(row("users." + u.name(), override(u)));
        }
        rows.add(row("max_message_size", String.valueOf(c.maxMessageSize())));
        rows.add(row("startup_timeout", duration(c.startupTimeout())));
        rows.add(row("shutdown_timeout", duration(c.shutdownTimeout())));
        rows.add(row("event_loop_threads", String.valueOf(c.eventLoopThreads())));
        rows.add(row("admin.users", String.join(",", c.adminUsers())));
        rows.addAll(RoutingRows.of(c.routing()));
        return new View(List.of(text("key"), text("value")), rows);
    }

    /** A databases or users entry as one line: only what it sets. */
    private static String override(PoolOverride o) {
        List<String> parts = new ArrayList<>();
        o.mode().ifPresent(m -> parts.add("pool_mode " + m.configName()));
        o.size().ifPresent(n -> parts.add("pool_size " + n));
        o.maxConnections().ifPresent(n -> parts.add("max_connections " + n));
        return String.join(", ", parts);
    }

    /** A duration as the configuration file writes it. */
    static String duration(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms";
    }

    /** The IP address of a TCP peer; other kinds of address as they print. */
    private static String host(SocketAddress a) {
        if (a instanceof InetSocketAddress inet) {
            return inet.getAddress() != null ? inet.getAddress().getHostAddress() : inet.getHostString();
        }
        return a == null ? null : a.toString();
    }

    private static Long port(SocketAddress a) {
        return a instanceof InetSocketAddress inet ? (long) inet.getPort() : null;
    }

    /** A row of values: String, Long, Boolean or null. */
    private static List<Object> row(Object... values) {
        return Arrays.asList(values);
    }
}
