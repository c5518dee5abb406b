package io.pgrelay.server.reload;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

class LiveKeysTest {
    private static final Predicate<String> ANY_LIVE = ((Predicate<String>) LiveKeys::pool).or(LiveKeys::session)
            .or(LiveKeys::auth).or(LiveKeys::logLevel).or(LiveKeys::routing);

    @Test
    void liveKeys() {
        List<String> live = List.of("pool.size", "pool.min_pool_size", "pool.reserve_pool_size",
                "pool.reserve_pool_timeout", "pool.query_wait_timeout", "pool.server_idle_timeout",
                "pool.server_lifetime", "pool.server_check_delay", "pool.server_reset_query", "databases[app].size",
                "databases[app].max_connections", "users[bob].max_connections", "databases[app].name",
                "auth.users.bob", "auth.users_file", "auth.rules[0].method", "admin.users", "routing.consistency",
                "routing.database_consistency.app", "routing.user_consistency.bob", "log.level",
                "routing.max_replica_lag", "routing.max_replica_lag_time", "routing.on_no_replica",
                "routing.read_only_functions", "routing.write_functions");
        assertEquals(List.of(), live.stream().filter(ANY_LIVE.negate()).toList());
    }

    /** Everything else, keys added to the configuration later included, needs a restart. */
    @Test
    void restartKeys() {
        List<String> restart = List.of("listen", "pool.mode", "databases[app].mode", "users[bob].mode",
                "pool.server_connect_timeout", "pool.max_prepared_statements", "pool.max_client_conn",
                "nodes[pg1].host", "admin.listen", "admin.token", "log.format", "routing.function_refresh_period",
                "monitor.password", "event_loop_threads", "some_future.key");
        assertEquals(List.of(), restart.stream().filter(ANY_LIVE).toList());
    }
}
