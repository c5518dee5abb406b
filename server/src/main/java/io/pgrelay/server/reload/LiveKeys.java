package io.pgrelay.server.reload;

import java.util.Set;
import java.util.regex.Pattern;

/** The configuration keys (as {@link ConfigDiff} names them) that a reload can put into effect. */
public final class LiveKeys {
    private static final Set<String> POOL = Set.of("pool.size", "pool.min_pool_size", "pool.reserve_pool_size",
            "pool.reserve_pool_timeout", "pool.query_wait_timeout", "pool.server_idle_timeout", "pool.server_lifetime",
            "pool.server_check_delay", "pool.server_reset_query");
    /** Per-database sizes and caps and per-user caps; their modes need a restart. */
    private static final Pattern POOL_OVERRIDE = Pattern.compile("(databases\\[[^]]*]\\.(name|size|max_connections))"
            + "|(users\\[[^]]*]\\.(name|max_connections))");

    private LiveKeys() {
    }

    /** Pool sizes, caps and timeouts: existing pools take them at once, new pools from then on. */
    public static boolean pool(String key) {
        return POOL.contains(key) || POOL_OVERRIDE.matcher(key).matches();
    }

    /** The users file (its path and its users) and auth.rules, which new logins use. */
    public static boolean auth(String key) {
        return key.startsWith("auth.");
    }

    /**
     * {@code databases[].consistency} and {@code users[].consistency}, which the configuration keeps
     * by name under routing; resolved from it at each login.
     */
    private static final Pattern CONSISTENCY_OVERRIDE = Pattern.compile("routing\\.(database|user)_consistency\\..+");

    /** What new clients and admin logins read from the configuration when they connect. */
    public static boolean session(String key) {
        return key.equals("admin.users") || key.equals("routing.consistency")
                || CONSISTENCY_OVERRIDE.matcher(key).matches();
    }

    private static final Set<String> ROUTING = Set.of("routing.max_replica_lag", "routing.max_replica_lag_time",
            "routing.on_no_replica", "routing.read_only_functions", "routing.write_functions");

    /** Lag limits, what a read with no replica does, and the function lists: the router takes them at once. */
    public static boolean routing(String key) {
        return ROUTING.contains(key);
    }

    /** The log level, which Logback changes at runtime. */
    public static boolean logLevel(String key) {
        return key.equals("log.level");
    }
}
