package io.pgrelay.conf;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** The configuration keys: which exist, which may be overridden, and the nearest one to a typo. */
final class Keys {
    static final String LISTEN = "listen";
    static final String PRIMARY = "primary";
    static final String REPLICAS = "replicas";
    static final String NODES = "nodes";
    static final String DATABASES = "databases";
    static final String USERS = "users";
    static final String USERS_FILE = "auth.users_file";
    static final String RULES = "auth.rules";
    static final String POOL_MODE = "pool.mode";
    static final String POOL_SIZE = "pool.size";
    static final String SERVER_RESET_QUERY = "pool.server_reset_query";
    static final String SERVER_CONNECT_TIMEOUT = "pool.server_connect_timeout";
    static final String QUERY_WAIT_TIMEOUT = "pool.query_wait_timeout";
    static final String MAX_PREPARED_STATEMENTS = "pool.max_prepared_statements";
    static final String MIN_POOL_SIZE = "pool.min_pool_size";
    static final String RESERVE_POOL_SIZE = "pool.reserve_pool_size";
    static final String RESERVE_POOL_TIMEOUT = "pool.reserve_pool_timeout";
    static final String MAX_CLIENT_CONN = "pool.max_client_conn";
    static final String SERVER_IDLE_TIMEOUT = "pool.server_idle_timeout";
    static final String SERVER_LIFETIME = "pool.server_lifetime";
    static final String SERVER_CHECK_DELAY = "pool.server_check_delay";
    static final String MAX_MESSAGE_SIZE = "max_message_size";
    static final String STARTUP_TIMEOUT = "startup_timeout";
    static final String SHUTDOWN_TIMEOUT = "shutdown_timeout";
    static final String EVENT_LOOP_THREADS = "event_loop_threads";
    static final String LOG_LEVEL = "log.level";
    static final String LOG_FORMAT = "log.format";
    static final String ADMIN_LISTEN = "admin.listen";
    static final String ADMIN_TOKEN = "admin.token";
    static final String HEALTH_CHECK_PERIOD = "health_check.period";
    static final String HEALTH_CHECK_TIMEOUT = "health_check.timeout";
    static final String HEALTH_CHECK_MAX_RETRIES = "health_check.max_retries";
    static final String HEALTH_CHECK_LSN_PERIOD = "health_check.lsn_period";
    static final String MONITOR_USER = "monitor.user";
    static final String MONITOR_PASSWORD = "monitor.password";
    static final String MONITOR_DATABASE = "monitor.database";
    static final String FAILOVER_ENABLED = "failover.enabled";
    static final String FAILOVER_GRACE_PERIOD = "failover.grace_period";
    static final String FAILOVER_MAX_LAG = "failover.max_lag";
    static final String FAILOVER_FOLLOW_PRIMARY = "failover.follow_primary";
    static final String FAILOVER_WAIT_TIMEOUT = "failover.wait_timeout";
    static final String HOOKS_ON_FAILOVER = "hooks.on_failover";
    static final String HOOKS_ON_NODE_DOWN = "hooks.on_node_down";
    static final String HOOKS_TIMEOUT = "hooks.timeout";
    static final String ADMIN_USERS = "admin.users";
    static final String ROUTING_CONSISTENCY = "routing.consistency";
    static final String ROUTING_MAX_REPLICA_LAG = "routing.max_replica_lag";
    static final String ROUTING_MAX_REPLICA_LAG_TIME = "routing.max_replica_lag_time";
    static final String ROUTING_ON_NO_REPLICA = "routing.on_no_replica";
    static final String ROUTING_READ_ONLY_FUNCTIONS = "routing.read_only_functions";
    static final String ROUTING_WRITE_FUNCTIONS = "routing.write_functions";
    /** pgpool's name for {@link #ROUTING_READ_ONLY_FUNCTIONS}. */
    static final String ROUTING_READ_ONLY_FUNCTION_LIST = "routing.read_only_function_list";
    /** pgpool's name for {@link #ROUTING_WRITE_FUNCTIONS}. */
    static final String ROUTING_WRITE_FUNCTION_LIST = "routing.write_function_list";
    static final String ROUTING_FUNCTION_REFRESH_PERIOD = "routing.function_refresh_period";
    /** Routing keys whose value is a list of function names: a YAML list or one comma-separated string. */
    static final List<String> FUNCTION_LIST_KEYS = List.of(ROUTING_READ_ONLY_FUNCTIONS, ROUTING_WRITE_FUNCTIONS,
            ROUTING_READ_ONLY_FUNCTION_LIST, ROUTING_WRITE_FUNCTION_LIST);

    static final List<String> DATABASE_FIELDS = List.of("name", "pool_mode", "pool_size", "max_db_connections",
            "consistency");
    static final List<String> USER_FIELDS = List.of("name", "pool_mode", "max_user_connections", "consistency");
    static final List<String> NODE_FIELDS = List.of("name", "host", "port", "role", "weight", "priority");
    static final List<String> RULE_FIELDS = List.of("address", "database", "user", "method");
    static final List<String> AUTH_FIELDS = List.of("users_file", "rules");
    static final List<String> POOL_FIELDS = List.of(
            "mode", "size", "server_reset_query", "server_connect_timeout", "query_wait_timeout",
            "max_prepared_statements", "min_pool_size", "reserve_pool_size", "reserve_pool_timeout", "max_client_conn",
            "server_idle_timeout", "server_lifetime", "server_check_delay");
    static final List<String> LOG_FIELDS = List.of("level", "format");
    static final List<String> ADMIN_FIELDS = List.of("listen", "token");

    /** Sections of single-valued keys, in file order, with their fields. */
    static final Map<String, List<String>> SECTIONS = sections();

    /** Keys with a single value, settable from every source (file, environment, command line). */
    static final List<String> OVERRIDABLE = List.of(
            LISTEN, PRIMARY, REPLICAS, USERS_FILE, POOL_MODE, POOL_SIZE, SERVER_RESET_QUERY,
            SERVER_CONNECT_TIMEOUT, QUERY_WAIT_TIMEOUT, MAX_PREPARED_STATEMENTS, MIN_POOL_SIZE,
            RESERVE_POOL_SIZE, RESERVE_POOL_TIMEOUT, MAX_CLIENT_CONN, SERVER_IDLE_TIMEOUT, SERVER_LIFETIME,
            SERVER_CHECK_DELAY, MAX_MESSAGE_SIZE, STARTUP_TIMEOUT,
            SHUTDOWN_TIMEOUT, EVENT_LOOP_THREADS, HEALTH_CHECK_PERIOD, HEALTH_CHECK_TIMEOUT,
            HEALTH_CHECK_MAX_RETRIES, HEALTH_CHECK_LSN_PERIOD, MONITOR_USER, MONITOR_PASSWORD, MONITOR_DATABASE,
            FAILOVER_ENABLED, FAILOVER_GRACE_PERIOD, FAILOVER_MAX_LAG, FAILOVER_FOLLOW_PRIMARY,
            FAILOVER_WAIT_TIMEOUT, HOOKS_ON_FAILOVER, HOOKS_ON_NODE_DOWN, HOOKS_TIMEOUT, LOG_LEVEL, LOG_FORMAT,
            ADMIN_LISTEN, ADMIN_TOKEN, ADMIN_USERS, ROUTING_CONSISTENCY, ROUTING_MAX_REPLICA_LAG,
            ROUTING_MAX_REPLICA_LAG_TIME, ROUTING_ON_NO_REPLICA, ROUTING_READ_ONLY_FUNCTIONS, ROUTING_WRITE_FUNCTIONS,
            ROUTING_READ_ONLY_FUNCTION_LIST, ROUTING_WRITE_FUNCTION_LIST, ROUTING_FUNCTION_REFRESH_PERIOD);

    /** Every key of the YAML file; list elements are written {@code nodes[].host}. */
    static final List<String> ALL = all();

    /** PGRELAY_ variables that configure the launcher or the CLI rather than the daemon. */
    static final Set<String> NON_CONFIG_VARIABLES = Set.of(
            "PGRELAY_ADMIN", "PGRELAY_HOME", "PGRELAY_OPTS", "PGRELAY_JAR", "PGRELAY_CONFIG");

    static final String ENV_PREFIX = "PGRELAY_";

    private Keys() {
    }

    private static List<String> all() {
        List<String> keys = new ArrayList<>(List.of(LISTEN, PRIMARY, REPLICAS, NODES));
        NODE_FIELDS.forEach(f -> keys.add(NODES + "[]." + f));
        keys.add(USERS_FILE);
        keys.add(RULES);
        RULE_FIELDS.forEach(f -> keys.add(RULES + "[]." + f));
        POOL_FIELDS.forEach(f -> keys.add("pool." + f));
        keys.add(DATABASES);
        DATABASE_FIELDS.forEach(f -> keys.add(DATABASES + "[]." + f));
        keys.add(USERS);
        USER_FIELDS.forEach(f -> keys.add(USERS + "[]." + f));
        keys.addAll(List.of(MAX_MESSAGE_SIZE, STARTUP_TIMEOUT, SHUTDOWN_TIMEOUT, EVENT_LOOP_THREADS, ADMIN_USERS));
        SECTIONS.forEach((section, fields) -> {
            if (!section.equals("pool")) {
                fields.forEach(f -> keys.add(section + "." + f));
            }
        });
        return List.copyOf(keys);
    }

    private static Map<String, List<String>> sections() {
        Map<String, List<String>> sections = new LinkedHashMap<>();
        sections.put("pool", POOL_FIELDS);
        sections.put("routing", List.of("consistency", "max_replica_lag", "max_replica_lag_time", "on_no_replica",
                "read_only_functions", "write_functions", "read_only_function_list", "write_function_list",
                "function_refresh_period"));
        sections.put("health_check", List.of("period", "timeout", "max_retries", "lsn_period"));
        sections.put("monitor", List.of("user", "password", "database"));
        sections.put("failover", List.of("enabled", "grace_period", "max_lag", "follow_primary", "wait_timeout"));
        sections.put("hooks", List.of("on_failover", "on_node_down", "timeout"));
        sections.put("log", LOG_FIELDS);
        sections.put("admin", ADMIN_FIELDS);
        return Collections.unmodifiableMap(sections);
    }

    /** {@code pool.size} -> {@code PGRELAY_POOL_SIZE}. */
    static String environmentVariable(String key) {
        return ENV_PREFIX + key.toUpperCase(Locale.ROOT).replace('.', '_');
    }

    /**
     * The known key nearest to an unknown one, if it is close enough to be a likely typo.
     *
     * @param path the unknown key as written, with list indices ({@code nodes[1].hots})
     */
    static Optional<String> suggestKey(String path) {
        String normalized = path.replaceAll("\\[\\d+]", "[]");
        String leaf = leaf(normalized);
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String known : ALL) {
            // A right name in the wrong section ("size" at the top level) counts as one edit.
            int byLeaf = distance(leaf, leaf(known)) + (parent(known).equals(parent(normalized)) ? 0 : 1);
            int d = Math.min(distance(normalized, known), byLeaf);
            // On a tie, a key of the same section is the likelier meaning ("admin.user").
            boolean sameSection = parent(known).equals(parent(normalized));
            if (d < bestDistance || d == bestDistance && sameSection && !parent(best).equals(parent(normalized))) {
                bestDistance = d;
                best = known;
            }
        }
        if (best == null || bestDistance > tolerance(leaf)) {
            return Optional.empty();
        }
        String normalizedParent = parent(normalized);
        // Show "nodes[1].host" rather than "nodes[].host" when the typo sits in that same element.
        if (!normalizedParent.isEmpty() && parent(best).equals(normalizedParent)) {
            return Optional.of(parent(path) + "." + leaf(best));
        }
        return Optional.of(best);
    }

    /** The candidate nearest to {@code word}, if it is close enough to be a likely typo. */
    static Optional<String> suggest(String word, Collection<String> candidates) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String candidate : candidates) {
            int d = distance(word, candidate);
            if (d < bestDistance) {
                bestDistance = d;
                best = candidate;
            }
        }
        return best != null && bestDistance <= tolerance(word) ? Optional.of(best) : Optional.empty();
    }

    private static int tolerance(String word) {
        return Math.max(2, word.length() / 3);
    }

    private static String leaf(String key) {
        return key.substring(key.lastIndexOf('.') + 1);
    }

    private static String parent(String key) {
        int dot = key.lastIndexOf('.');
        return dot < 0 ? "" : key.substring(0, dot);
    }

    /** Levenshtein distance, case-insensitive. */
    static int distance(String a, String b) {
        String s = a.toLowerCase(Locale.ROOT);
        String t = b.toLowerCase(Locale.ROOT);
        int[] previous = new int[t.length() + 1];
        int[] current = new int[t.length() + 1];
        for (int j = 0; j <= t.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= s.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= t.length(); j++) {
                int substitution = previous[j - 1] + (s.charAt(i - 1) == t.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitution, Math.min(previous[j] + 1, current[j - 1] + 1));
            }
            int[] swap = previous;
            previous = current;
            current = swap;
        }
        return previous[t.length()];
    }
}
