package io.pgrelay.conf;

import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.OptionalInt;
import java.util.Set;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns merged raw settings into a {@link PgRelayConfig}: parses each value, applies the built-in
 * defaults, and checks the rules that span keys (one primary, auth safety). Every problem found is
 * added to the list; nothing stops at the first.
 */
final class Binder {
    private static final HostPort DEFAULT_LISTEN = new HostPort("127.0.0.1", 6432);
    private static final int DEFAULT_LISTEN_PORT = 6432;
    private static final int DEFAULT_ADMIN_PORT = 6433;
    private static final HostPort DEFAULT_ADMIN_LISTEN = new HostPort("127.0.0.1", DEFAULT_ADMIN_PORT);
    private static final int DEFAULT_NODE_PORT = 5432;
    private static final int DEFAULT_WEIGHT = 1;
    private static final PoolMode DEFAULT_POOL_MODE = PoolMode.SESSION;
    private static final int DEFAULT_POOL_SIZE = 20;
    private static final int DEFAULT_MAX_PREPARED_STATEMENTS = 200;
    private static final int DEFAULT_MAX_CLIENT_CONN = 10_000;
    private static final Duration DEFAULT_RESERVE_POOL_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration DEFAULT_SERVER_IDLE_TIMEOUT = Duration.ofMinutes(10);
    private static final Duration DEFAULT_SERVER_LIFETIME = Duration.ofHours(1);
    private static final Duration DEFAULT_SERVER_CHECK_DELAY = Duration.ofSeconds(30);
    private static final String DEFAULT_SERVER_RESET_QUERY = "DISCARD ALL";
    private static final Duration DEFAULT_SERVER_CONNECT_TIMEOUT = Duration.ofSeconds(5);
    private static final Duration DEFAULT_QUERY_WAIT_TIMEOUT = Duration.ofSeconds(120);
    private static final int DEFAULT_MAX_MESSAGE_SIZE = 256 << 20;
    private static final Duration DEFAULT_STARTUP_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration DEFAULT_SHUTDOWN_TIMEOUT = Duration.ofSeconds(30);
    private static final int DEFAULT_EVENT_LOOP_THREADS = 0;
    private static final LogConfig.Level DEFAULT_LOG_LEVEL = LogConfig.Level.INFO;
    private static final LogConfig.Format DEFAULT_LOG_FORMAT = LogConfig.Format.TEXT;
    private static final Duration DEFAULT_HEALTH_CHECK_PERIOD = Duration.ofSeconds(1);
    private static final Duration DEFAULT_HEALTH_CHECK_TIMEOUT = Duration.ofSeconds(2);
    private static final int DEFAULT_HEALTH_CHECK_MAX_RETRIES = 3;
    private static final Duration DEFAULT_LSN_PERIOD = Duration.ofMillis(50);
    private static final String DEFAULT_MONITOR_USER = "postgres";
    private static final String DEFAULT_MONITOR_DATABASE = "postgres";
    private static final Duration DEFAULT_GRACE_PERIOD = Duration.ofSeconds(10);
    private static final long DEFAULT_MAX_LAG = 16L << 20;
    private static final long MAX_MAX_LAG = 1024L << 30;
    private static final Duration DEFAULT_FAILOVER_WAIT_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration DEFAULT_HOOKS_TIMEOUT = Duration.ofSeconds(30);
    private static final Pattern PLACEHOLDER = Pattern.compile("%\\{([^}]*)}");
    private static final Pattern ROLE_NAME = Pattern.compile("[^\\x00]{1,63}");

    private static final Pattern DURATION = Pattern.compile("(\\d{1,15})\\s*(ms|s|m|min|h)?");
    private static final Duration MAX_DURATION = Duration.ofHours(168);
    private static final String DURATION_ALLOWED =
            "use a number with unit ms, s, m or h (500ms, 10s, 5m, 1h) or a bare number of seconds, "
                    + "greater than 0 and at most 168h";
    private static final Pattern SIZE = Pattern.compile("(\\d{1,15})\\s*([A-Za-z]*)");
    private static final Map<String, Long> SIZE_UNITS = Map.of(
            "", 1L, "b", 1L, "kb", 1L << 10, "kib", 1L << 10, "mb", 1L << 20, "mib", 1L << 20,
            "gb", 1L << 30, "gib", 1L << 30);
    private static final long MIN_MESSAGE_SIZE = 1L << 10;
    private static final long MAX_MESSAGE_SIZE = 1L << 30;
    /** 16 characters of a random token are already beyond guessing over HTTP. */
    private static final int MIN_TOKEN_LENGTH = 16;
    private static final Pattern NODE_NAME = Pattern.compile("[A-Za-z0-9_.-]{1,63}");

    private final List<String> problems;

    Binder(List<String> problems) {
        this.problems = problems;
    }

    /** The configuration, or {@code null} when a problem was added. */
    PgRelayConfig bind(RawConfig raw) {
        int before = problems.size();
        HostPort listen = listen(raw.values.get(Keys.LISTEN));
        List<NodeConfig> nodes = nodes(raw);
        AuthConfig auth = auth(raw, listen);
        PoolConfig pool = new PoolConfig(
                choice(Keys.POOL_MODE, raw.values.get(Keys.POOL_MODE), PoolMode.class, DEFAULT_POOL_MODE),
                integer(Keys.POOL_SIZE, raw.values.get(Keys.POOL_SIZE), DEFAULT_POOL_SIZE, 1, 10_000, ""),
                resetQuery(raw.values.get(Keys.SERVER_RESET_QUERY)),
                duration(Keys.SERVER_CONNECT_TIMEOUT, raw.values.get(Keys.SERVER_CONNECT_TIMEOUT),
                        DEFAULT_SERVER_CONNECT_TIMEOUT),
                duration(Keys.QUERY_WAIT_TIMEOUT, raw.values.get(Keys.QUERY_WAIT_TIMEOUT), DEFAULT_QUERY_WAIT_TIMEOUT),
                integer(Keys.MAX_PREPARED_STATEMENTS, raw.values.get(Keys.MAX_PREPARED_STATEMENTS),
                        DEFAULT_MAX_PREPARED_STATEMENTS, 1, 100_000, ""),
                integer(Keys.MIN_POOL_SIZE, raw.values.get(Keys.MIN_POOL_SIZE), 0, 0, 10_000, ""),
                integer(Keys.RESERVE_POOL_SIZE, raw.values.get(Keys.RESERVE_POOL_SIZE), 0, 0, 10_000, ""),
                duration(Keys.RESERVE_POOL_TIMEOUT, raw.values.get(Keys.RESERVE_POOL_TIMEOUT), DEFAULT_RESERVE_POOL_TIMEOUT),
                integer(Keys.MAX_CLIENT_CONN, raw.values.get(Keys.MAX_CLIENT_CONN), DEFAULT_MAX_CLIENT_CONN, 1, 1_000_000, ""),
                duration(Keys.SERVER_IDLE_TIMEOUT, raw.values.get(Keys.SERVER_IDLE_TIMEOUT), DEFAULT_SERVER_IDLE_TIMEOUT),
                duration(Keys.SERVER_LIFETIME, raw.values.get(Keys.SERVER_LIFETIME), DEFAULT_SERVER_LIFETIME),
                duration(Keys.SERVER_CHECK_DELAY, raw.values.get(Keys.SERVER_CHECK_DELAY), DEFAULT_SERVER_CHECK_DELAY),
                overrides(raw.databases, "pool_size", "max_db_connections"),
                overrides(raw.users, null, "max_user_connections"));
        if (pool.minPoolSize() > pool.size()) {
            problems.add(Keys.MIN_POOL_SIZE + ": " + pool.minPoolSize() + " is larger than " + Keys.POOL_SIZE + " "
                    + pool.size() + "; make it at most " + pool.size());
        }
        int maxMessageSize = size(Keys.MAX_MESSAGE_SIZE, raw.values.get(Keys.MAX_MESSAGE_SIZE));
        Duration startupTimeout = duration(Keys.STARTUP_TIMEOUT, raw.values.get(Keys.STARTUP_TIMEOUT),
                DEFAULT_STARTUP_TIMEOUT);
        Duration shutdownTimeout = duration(Keys.SHUTDOWN_TIMEOUT, raw.values.get(Keys.SHUTDOWN_TIMEOUT),
                DEFAULT_SHUTDOWN_TIMEOUT);
        int eventLoopThreads = integer(Keys.EVENT_LOOP_THREADS, raw.values.get(Keys.EVENT_LOOP_THREADS),
                DEFAULT_EVENT_LOOP_THREADS, 0, 1024, " (0 picks a default for the number of cores)");
        LogConfig log = new LogConfig(
                choice(Keys.LOG_LEVEL, raw.values.get(Keys.LOG_LEVEL), LogConfig.Level.class, DEFAULT_LOG_LEVEL),
                choice(Keys.LOG_FORMAT, raw.values.get(Keys.LOG_FORMAT), LogConfig.Format.class, DEFAULT_LOG_FORMAT));
        AdminConfig admin = admin(raw);
        HealthCheckConfig healthCheck = healthCheck(raw);
        MonitorConfig monitor = monitor(raw);
        FailoverConfig failover = failover(raw);
        HooksConfig hooks = new HooksConfig(
                hook(Keys.HOOKS_ON_FAILOVER, raw.values.get(Keys.HOOKS_ON_FAILOVER), HooksConfig.FAILOVER_PLACEHOLDERS),
                hook(Keys.HOOKS_ON_NODE_DOWN, raw.values.get(Keys.HOOKS_ON_NODE_DOWN),
                        HooksConfig.NODE_DOWN_PLACEHOLDERS),
                duration(Keys.HOOKS_TIMEOUT, raw.values.get(Keys.HOOKS_TIMEOUT), DEFAULT_HOOKS_TIMEOUT));
        List<String> adminUsers = adminUsers(raw.adminUsers);
        RoutingConfig routing = routing(raw);
        if (problems.size() > before) {
            return null;
        }
        return new PgRelayConfig(listen, nodes, auth, pool, maxMessageSize, startupTimeout, shutdownTimeout,
                eventLoopThreads, healthCheck, monitor, failover, hooks, log, admin, adminUsers, routing);
    }

    // ---- per-database and per-user pool settings

    /** The {@code databases} or {@code users} entries; {@code sizeField} null where a size is not allowed. */
    private List<PoolOverride> overrides(List<RawItem> items, String sizeField, String capField) {
        List<PoolOverride> overrides = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (RawItem item : items == null ? List.<RawItem>of() : items) {
            Raw name = item.fields().get("name");
            if (name == null || name.text() == null || name.text().isBlank()) {
                problems.add(item.path() + " (from " + item.origin() + "): name is missing");
                continue;
            }
            String n = name.text().strip();
            if (!names.add(n)) {
                problems.add(name.where(item.path() + ".name") + ": " + quote(n) + " is listed twice; merge the entries");
                continue;
            }
            Raw mode = item.fields().get("pool_mode");
            Optional<PoolMode> poolMode = mode == null ? Optional.empty()
                    : Optional.of(choice(item.path() + ".pool_mode", mode, PoolMode.class, DEFAULT_POOL_MODE));
            Raw size = sizeField == null ? null : item.fields().get(sizeField);
            OptionalInt poolSize = size == null ? OptionalInt.empty()
                    : OptionalInt.of(integer(item.path() + "." + sizeField, size, DEFAULT_POOL_SIZE, 1, 10_000, ""));
            Raw cap = item.fields().get(capField);
            OptionalInt maxConnections = cap == null ? OptionalInt.empty()
                    : OptionalInt.of(integer(item.path() + "." + capField, cap, 0, 0, 100_000, " (0: no cap)"));
            overrides.add(new PoolOverride(n, poolMode, poolSize, maxConnections));
        }
        return overrides;
    }

    // ---- routing

    private RoutingConfig routing(RawConfig raw) {
        return new RoutingConfig(
                choice(Keys.ROUTING_CONSISTENCY, raw.values.get(Keys.ROUTING_CONSISTENCY), RoutingConfig.Consistency.class,
                        RoutingConfig.Consistency.SESSION),
                size(Keys.ROUTING_MAX_REPLICA_LAG, raw.values.get(Keys.ROUTING_MAX_REPLICA_LAG), 0, 0, MAX_MAX_LAG,
                        "0 (no limit) to 1024GB", "16MB"),
                durationOrZero(Keys.ROUTING_MAX_REPLICA_LAG_TIME, raw.values.get(Keys.ROUTING_MAX_REPLICA_LAG_TIME),
                        Duration.ZERO, "0 for no limit"),
                choice(Keys.ROUTING_ON_NO_REPLICA, raw.values.get(Keys.ROUTING_ON_NO_REPLICA),
                        RoutingConfig.OnNoReplica.class, RoutingConfig.OnNoReplica.PRIMARY),
                FunctionLists.bind(raw, Keys.ROUTING_READ_ONLY_FUNCTIONS, Keys.ROUTING_READ_ONLY_FUNCTION_LIST, problems),
                FunctionLists.bind(raw, Keys.ROUTING_WRITE_FUNCTIONS, Keys.ROUTING_WRITE_FUNCTION_LIST, problems),
                durationOrZero(Keys.ROUTING_FUNCTION_REFRESH_PERIOD, raw.values.get(Keys.ROUTING_FUNCTION_REFRESH_PERIOD),
                        RoutingConfig.DEFAULT_FUNCTION_REFRESH_PERIOD, "0 reads pg_proc only at start"),
                consistencies(raw.databases),
                consistencies(raw.users));
    }

    /**
     * {@code consistency} of the {@code databases} or {@code users} entries by name; entries without
     * a valid name are reported by {@link #overrides}.
     */
    private Map<String, RoutingConfig.Consistency> consistencies(List<RawItem> items) {
        Map<String, RoutingConfig.Consistency> byName = new HashMap<>();
        for (RawItem item : items == null ? List.<RawItem>of() : items) {
            Raw name = item.fields().get("name");
            Raw value = item.fields().get("consistency");
            if (value != null && name != null && name.text() != null && !name.text().isBlank()) {
                byName.putIfAbsent(name.text().strip(), choice(item.path() + ".consistency", value,
                        RoutingConfig.Consistency.class, RoutingConfig.Consistency.SESSION));
            }
        }
        return byName;
    }

    // ---- health checks and failover

    private HealthCheckConfig healthCheck(RawConfig raw) {
        return new HealthCheckConfig(
                duration(Keys.HEALTH_CHECK_PERIOD, raw.values.get(Keys.HEALTH_CHECK_PERIOD), DEFAULT_HEALTH_CHECK_PERIOD),
                duration(Keys.HEALTH_CHECK_TIMEOUT, raw.values.get(Keys.HEALTH_CHECK_TIMEOUT),
                        DEFAULT_HEALTH_CHECK_TIMEOUT),
                integer(Keys.HEALTH_CHECK_MAX_RETRIES, raw.values.get(Keys.HEALTH_CHECK_MAX_RETRIES),
                        DEFAULT_HEALTH_CHECK_MAX_RETRIES, 1, 100, " (failed checks in a row before a node is down)"),
                duration(Keys.HEALTH_CHECK_LSN_PERIOD, raw.values.get(Keys.HEALTH_CHECK_LSN_PERIOD), DEFAULT_LSN_PERIOD));
    }

    private MonitorConfig monitor(RawConfig raw) {
        String user = name(Keys.MONITOR_USER, raw.values.get(Keys.MONITOR_USER), DEFAULT_MONITOR_USER, "a role name");
        String database = name(Keys.MONITOR_DATABASE, raw.values.get(Keys.MONITOR_DATABASE), DEFAULT_MONITOR_DATABASE,
                "a database name");
        Raw password = raw.values.get(Keys.MONITOR_PASSWORD);
        // The password is taken as written: no message may quote it.
        return new MonitorConfig(user, password == null || password.text() == null ? "" : password.text(), database);
    }

    private String name(String key, Raw value, String defaultValue, String allowed) {
        if (value == null) {
            return defaultValue;
        }
        String text = value.text() == null ? "" : value.text().strip();
        if (!ROLE_NAME.matcher(text).matches()) {
            problems.add(value.where(key) + ": " + (text.isEmpty() ? "no value given" : quote(text) + " is not allowed")
                    + "; use " + allowed + " of 1 to 63 characters");
            return defaultValue;
        }
        return text;
    }

    private FailoverConfig failover(RawConfig raw) {
        return new FailoverConfig(
                bool(Keys.FAILOVER_ENABLED, raw.values.get(Keys.FAILOVER_ENABLED), true),
                duration(Keys.FAILOVER_GRACE_PERIOD, raw.values.get(Keys.FAILOVER_GRACE_PERIOD), DEFAULT_GRACE_PERIOD),
                size(Keys.FAILOVER_MAX_LAG, raw.values.get(Keys.FAILOVER_MAX_LAG), DEFAULT_MAX_LAG, 0, MAX_MAX_LAG,
                        "0 to 1024GB", "16MB"),
                bool(Keys.FAILOVER_FOLLOW_PRIMARY, raw.values.get(Keys.FAILOVER_FOLLOW_PRIMARY), true),
                duration(Keys.FAILOVER_WAIT_TIMEOUT, raw.values.get(Keys.FAILOVER_WAIT_TIMEOUT),
                        DEFAULT_FAILOVER_WAIT_TIMEOUT));
    }

    /** A hook command line; every {@code %{name}} in it must be one of {@code placeholders}. */
    private String hook(String key, Raw value, List<String> placeholders) {
        if (value == null || value.text() == null) {
            return "";
        }
        String command = value.text().strip();
        Matcher m = PLACEHOLDER.matcher(command);
        while (m.find()) {
            if (!placeholders.contains(m.group(1))) {
                problems.add(value.where(key) + ": placeholder " + quote(m.group()) + " is not known; use "
                        + String.join(", ", placeholders.stream().map(p -> "%{" + p + "}").toList()));
            }
        }
        return command;
    }

    private boolean bool(String key, Raw value, boolean defaultValue) {
        if (value == null) {
            return defaultValue;
        }
        String text = value.text() == null ? "" : value.text().strip().toLowerCase(Locale.ROOT);
        switch (text) {
            case "true", "on", "yes" -> {
                return true;
            }
            case "false", "off", "no" -> {
                return false;
            }
            default -> {
                problems.add(value.where(key) + ": " + (text.isEmpty() ? "no value given"
                        : quote(value.text()) + " is not allowed") + "; use true or false");
                return defaultValue;
            }
        }
    }

    /** The user names allowed on the admin console; none by default, which keeps it closed. */
    private List<String> adminUsers(List<Raw> values) {
        List<String> users = new ArrayList<>();
        if (values == null) {
            return users;
        }
        for (int i = 0; i < values.size(); i++) {
            Raw value = values.get(i);
            String key = Keys.ADMIN_USERS + "[" + i + "]";
            if (value.text() == null || value.text().isBlank()) {
                problems.add(value.where(key) + ": no value given; use a user name");
            } else if (users.contains(value.text().strip())) {
                problems.add(value.where(key) + ": " + quote(value.text().strip()) + " is listed twice; list each user once");
            } else {
                users.add(value.text().strip());
            }
        }
        return users;
    }

    // ---- nodes

    /**
     * A configured node and the key it came from. Name and role are kept even when another field
     * is wrong, so duplicate names and primaries are reported in the same pass.
     *
     * @param node      the node, or {@code null} if one of its fields is wrong
     * @param name      its name, {@code null} if missing or invalid
     * @param role      its role, {@code null} if missing or invalid
     * @param path      its key, e.g. {@code nodes[1]}
     * @param nameWhere its name's key and origin, for messages
     */
    private record Placed(NodeConfig node, String name, NodeRole role, String path, String nameWhere) {
        Placed(NodeConfig node, String path) {
            this(node, node.name(), node.role(), path, path);
        }
    }

    private List<NodeConfig> nodes(RawConfig raw) {
        List<Placed> placed = new ArrayList<>();
        if (raw.nodes != null) {
            raw.nodes.forEach(item -> placed.add(node(item)));
        } else {
            Raw primary = raw.values.get(Keys.PRIMARY);
            if (primary != null) {
                HostPort address = address(Keys.PRIMARY, primary, DEFAULT_NODE_PORT, "10.0.0.1:5432");
                placed.add(address == null ? new Placed(null, null, NodeRole.PRIMARY, Keys.PRIMARY, Keys.PRIMARY)
                        : new Placed(new NodeConfig("primary", address.host(), address.port(), NodeRole.PRIMARY,
                                DEFAULT_WEIGHT), Keys.PRIMARY));
            }
            List<Raw> replicas = raw.replicas == null ? List.of() : raw.replicas;
            for (int i = 0; i < replicas.size(); i++) {
                String path = Keys.REPLICAS + "[" + i + "]";
                HostPort address = address(path, replicas.get(i), DEFAULT_NODE_PORT, "10.0.0.2:5432");
                if (address != null) {
                    placed.add(new Placed(new NodeConfig("replica" + (i + 1), address.host(), address.port(),
                            NodeRole.REPLICA, DEFAULT_WEIGHT), path));
                }
            }
        }
        checkNames(placed);
        // With a role unreadable, counting primaries would report a problem that may not exist.
        if (placed.stream().allMatch(p -> p.role() != null)) {
            checkOnePrimary(placed, raw);
        }
        return placed.stream().map(Placed::node).toList();
    }

    private Placed node(RawItem item) {
        int before = problems.size();
        Map<String, Raw> f = item.fields();
        String name = required(item, "name", "a name of letters, digits, '_', '-' or '.'");
        if (name != null && !NODE_NAME.matcher(name).matches()) {
            problems.add(f.get("name").where(item.path() + ".name") + ": " + quote(name)
                    + " is not allowed; use 1 to 63 letters, digits, '_', '-' or '.'");
            name = null;
        }
        String host = required(item, "host", "a host name or IP address");
        if (host != null) {
            // Brackets are optional here because the port has a key of its own.
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            }
            String hostProblem = Addresses.hostProblem(host);
            if (hostProblem != null) {
                problems.add(f.get("host").where(item.path() + ".host") + ": " + hostProblem
                        + "; use a host name or an IPv4 or IPv6 address");
            }
        }
        int port = integer(item.path() + ".port", f.get("port"), DEFAULT_NODE_PORT, 1, 65535, "");
        NodeRole role = required(item, "role", "primary or replica") == null ? null
                : choice(item.path() + ".role", f.get("role"), NodeRole.class, null);
        int weight = integer(item.path() + ".weight", f.get("weight"), DEFAULT_WEIGHT, 0, 10_000,
                " (a replica's share of reads; 0 sends it none)");
        int priority = integer(item.path() + ".priority", f.get("priority"), NodeConfig.DEFAULT_PRIORITY, 0, 1000,
                " (higher is promoted first; 0 never)");
        NodeConfig node = problems.size() > before ? null : new NodeConfig(name, host, port, role, weight, priority);
        String nameWhere = name == null ? null : f.get("name").where(item.path() + ".name");
        return new Placed(node, name, role, item.path(), nameWhere);
    }

    /** The trimmed text of a field the element must have, or {@code null} after adding a problem. */
    private String required(RawItem item, String field, String allowed) {
        Raw value = item.fields().get(field);
        if (value == null) {
            problems.add(item.where() + ": " + field + " is missing; give " + allowed);
            return null;
        }
        if (value.text() == null || value.text().isBlank()) {
            problems.add(value.where(item.path() + "." + field) + ": no value given; use " + allowed);
            return null;
        }
        return value.text().strip();
    }

    private void checkNames(List<Placed> placed) {
        Map<String, String> firstPath = new HashMap<>();
        for (Placed p : placed) {
            String previous = p.name() == null ? null : firstPath.putIfAbsent(p.name(), p.path());
            if (previous != null) {
                problems.add(p.nameWhere() + ": " + quote(p.name()) + " is already the name of " + previous
                        + "; node names must be unique");
            }
        }
    }

    private void checkOnePrimary(List<Placed> placed, RawConfig raw) {
        List<String> primaries = placed.stream()
                .filter(p -> p.role() == NodeRole.PRIMARY)
                .map(p -> (p.name() == null ? "" : quote(p.name()) + " ") + "(" + p.path() + ")")
                .toList();
        if (primaries.size() > 1) {
            problems.add(Keys.NODES + " (" + raw.nodesOrigin + "): " + String.join(" and ", primaries)
                    + " have role primary; exactly one node may be the primary");
        } else if (primaries.isEmpty() && raw.nodes != null) {
            problems.add(Keys.NODES + " (" + raw.nodesOrigin + "): no node has role primary; exactly one node must "
                    + "be the primary");
        } else if (primaries.isEmpty()) {
            String why = raw.nodesReplacedBy == null ? ""
                    : "; " + raw.nodesReplacedBy + " replaced the nodes list of the file, so set primary there too";
            problems.add(Keys.PRIMARY + ": no primary server is configured; set primary: host:port (environment "
                    + Keys.environmentVariable(Keys.PRIMARY) + ") or a nodes list with one node of role primary" + why);
        }
    }

    // ---- auth

    private AuthConfig auth(RawConfig raw, HostPort listen) {
        Raw usersFileValue = raw.values.get(Keys.USERS_FILE);
        Optional<Path> usersFile = Optional.empty();
        Map<String, String> users = Map.of();
        if (usersFileValue != null) {
            usersFile = Optional.ofNullable(usersFilePath(usersFileValue, raw.usersFileBase));
            if (usersFile.isPresent()) {
                try {
                    users = UsersFile.read(usersFile.get());
                } catch (ConfigException e) {
                    e.problems().forEach(p -> problems.add(usersFileValue.where(Keys.USERS_FILE) + ": " + p));
                }
            }
        }
        boolean hasUsersFile = usersFileValue != null;
        List<AuthRule> rules = new ArrayList<>();
        if (raw.rules != null) {
            for (RawItem item : raw.rules) {
                AuthRule rule = rule(item, hasUsersFile);
                if (rule != null) {
                    rules.add(rule);
                }
            }
        }
        if (raw.rules == null || raw.rules.isEmpty()) {
            rules.add(new AuthRule("all", "all", "all", hasUsersFile ? AuthMethod.SCRAM_SHA_256 : AuthMethod.TRUST));
        }
        if (!hasUsersFile && listen != null && !listen.isLoopback()) {
            Raw listenValue = raw.values.get(Keys.LISTEN);
            problems.add(Keys.USERS_FILE + ": pgrelay listens on " + listen
                    + (listenValue == null ? "" : " (listen " + listenValue.origin() + ")")
                    + " without a users file, which would let anyone connect as any user; set " + Keys.USERS_FILE
                    + " (see `pgrelay passwd`) or listen on 127.0.0.1");
        }
        return new AuthConfig(usersFile, users, rules);
    }

    private Path usersFilePath(Raw value, Path base) {
        if (value.text() == null || value.text().isBlank()) {
            problems.add(value.where(Keys.USERS_FILE) + ": no value given; use the path of a users file");
            return null;
        }
        try {
            Path path = Path.of(value.text().strip());
            return (base == null ? path.toAbsolutePath() : base.resolve(path)).normalize();
        } catch (InvalidPathException e) {
            problems.add(value.where(Keys.USERS_FILE) + ": " + quote(value.text()) + " is not a valid path: "
                    + e.getReason());
            return null;
        }
    }

    private AuthRule rule(RawItem item, boolean hasUsersFile) {
        int before = problems.size();
        Map<String, Raw> f = item.fields();
        String address = ruleText(item, "address");
        if (!address.equalsIgnoreCase("all")) {
            try {
                Cidr.parse(address);
            } catch (IllegalArgumentException e) {
                problems.add(f.get("address").where(item.path() + ".address") + ": " + quote(address)
                        + " is not a valid CIDR: " + e.getMessage() + "; use all or a CIDR such as 10.0.0.0/8, "
                        + "127.0.0.1/32 or fd00::/8");
            }
        }
        String database = ruleText(item, "database");
        String user = ruleText(item, "user");
        AuthMethod method = null;
        if (required(item, "method", "trust, md5, scram-sha-256 or reject") != null) {
            method = choice(item.path() + ".method", f.get("method"), AuthMethod.class, null);
        }
        if (!hasUsersFile && (method == AuthMethod.MD5 || method == AuthMethod.SCRAM_SHA_256)) {
            problems.add(f.get("method").where(item.path() + ".method") + ": " + method.configName()
                    + " checks passwords, which needs a users file with the users' secrets; set " + Keys.USERS_FILE
                    + " (see `pgrelay passwd`) or use trust or reject");
        }
        return problems.size() > before ? null
                : new AuthRule(address.equalsIgnoreCase("all") ? "all" : address, database, user, method);
    }

    /** An optional rule field whose default is {@code all}. */
    private String ruleText(RawItem item, String field) {
        Raw value = item.fields().get(field);
        if (value == null) {
            return "all";
        }
        if (value.text() == null || value.text().isBlank()) {
            problems.add(value.where(item.path() + "." + field) + ": no value given; use all or a " + field
                    + ("address".equals(field) ? " range in CIDR form" : " name"));
            return "all";
        }
        return value.text().strip();
    }

    // ---- admin endpoint

    private AdminConfig admin(RawConfig raw) {
        Raw listenValue = raw.values.get(Keys.ADMIN_LISTEN);
        HostPort listen = listenValue == null ? DEFAULT_ADMIN_LISTEN
                : address(Keys.ADMIN_LISTEN, listenValue, DEFAULT_ADMIN_PORT, "127.0.0.1:6433 or 0.0.0.0:6433");
        Raw tokenValue = raw.values.get(Keys.ADMIN_TOKEN);
        Optional<String> token = Optional.empty();
        if (tokenValue != null) {
            // Never quoted back: the value is a secret.
            String text = tokenValue.text() == null ? "" : tokenValue.text().strip();
            if (text.length() < MIN_TOKEN_LENGTH || !text.chars().allMatch(c -> c > 0x20 && c < 0x7F)) {
                problems.add(tokenValue.where(Keys.ADMIN_TOKEN) + ": the token is not allowed; use at least "
                        + MIN_TOKEN_LENGTH + " visible ASCII characters without spaces (e.g. openssl rand -hex 32)");
            } else {
                token = Optional.of(text);
            }
        }
        if (listen != null && !listen.isLoopback() && tokenValue == null) {
            problems.add(Keys.ADMIN_TOKEN + ": the admin endpoint listens on " + listen
                    + (listenValue == null ? "" : " (" + Keys.ADMIN_LISTEN + " " + listenValue.origin() + ")")
                    + " without a token, which would let anyone on the network read metrics and run admin commands; "
                    + "set " + Keys.ADMIN_TOKEN + " (environment " + Keys.environmentVariable(Keys.ADMIN_TOKEN)
                    + ") or listen on 127.0.0.1");
        }
        return listen == null ? null : new AdminConfig(listen, token);
    }

    // ---- scalar values

    private HostPort listen(Raw value) {
        if (value == null) {
            return DEFAULT_LISTEN;
        }
        return address(Keys.LISTEN, value, DEFAULT_LISTEN_PORT, "127.0.0.1:6432 or [::1]:6432");
    }

    private HostPort address(String key, Raw value, int defaultPort, String example) {
        String allowed = "use host:port, e.g. " + example;
        if (value.text() == null) {
            problems.add(value.where(key) + ": no value given; " + allowed);
            return null;
        }
        try {
            HostPort parsed = HostPort.parse(value.text(), defaultPort);
            if (parsed.port() == 0 && !key.equals(Keys.LISTEN) && !key.equals(Keys.ADMIN_LISTEN)) {
                problems.add(value.where(key) + ": " + quote(value.text()) + " has port 0, which only listen accepts"
                        + " (the OS picks a free port); " + allowed);
                return null;
            }
            return parsed;
        } catch (IllegalArgumentException e) {
            problems.add(value.where(key) + ": " + quote(value.text()) + " is not a valid address: " + e.getMessage()
                    + "; " + allowed);
            return null;
        }
    }

    private int integer(String key, Raw value, int defaultValue, int min, int max, String note) {
        if (value == null) {
            return defaultValue;
        }
        String allowed = "use an integer from " + min + " to " + max + note;
        if (value.text() == null) {
            problems.add(value.where(key) + ": no value given; " + allowed);
            return defaultValue;
        }
        String text = value.text().strip();
        if (!text.matches("[+-]?\\d{1,18}")) {
            problems.add(value.where(key) + ": " + quote(value.text()) + " is not an integer; " + allowed);
            return defaultValue;
        }
        long number = Long.parseLong(text);
        if (number < min || number > max) {
            problems.add(value.where(key) + ": " + number + " is not allowed; " + allowed);
            return defaultValue;
        }
        return (int) number;
    }

    private <E extends Enum<E>> E choice(String key, Raw value, Class<E> type, E defaultValue) {
        if (value == null) {
            return defaultValue;
        }
        List<String> names = new ArrayList<>();
        for (E constant : type.getEnumConstants()) {
            names.add(configName(constant));
            if (value.text() != null && configName(constant).equalsIgnoreCase(value.text().strip())) {
                return constant;
            }
        }
        String allowed = "use " + String.join(", ", names.subList(0, names.size() - 1)) + " or " + names.getLast();
        problems.add(value.where(key) + ": " + (value.text() == null ? "no value given" : quote(value.text())
                + " is not allowed") + "; " + allowed);
        return defaultValue;
    }

    private static String configName(Enum<?> constant) {
        return switch (constant) {
            case AuthMethod m -> m.configName();
            case PoolMode m -> m.configName();
            default -> constant.name().toLowerCase(Locale.ROOT);
        };
    }

    private String resetQuery(Raw value) {
        if (value == null) {
            return DEFAULT_SERVER_RESET_QUERY;
        }
        // No value means no reset query, the same as "".
        return value.text() == null ? "" : value.text().strip();
    }

    private Duration duration(String key, Raw value, Duration defaultValue) {
        if (value == null) {
            return defaultValue;
        }
        Matcher m = value.text() == null ? null : DURATION.matcher(value.text().strip());
        if (m == null || !m.matches()) {
            problems.add(value.where(key) + ": " + (value.text() == null ? "no value given"
                    : quote(value.text()) + " is not a duration") + "; " + DURATION_ALLOWED);
            return defaultValue;
        }
        long amount = Long.parseLong(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        Duration duration = switch (unit) {
            case "ms" -> Duration.ofMillis(amount);
            case "m", "min" -> amount > MAX_DURATION.toMinutes() ? null : Duration.ofMinutes(amount);
            case "h" -> amount > MAX_DURATION.toHours() ? null : Duration.ofHours(amount);
            default -> amount > MAX_DURATION.toSeconds() ? null : Duration.ofSeconds(amount);
        };
        if (duration == null || duration.isZero() || duration.compareTo(MAX_DURATION) > 0) {
            problems.add(value.where(key) + ": " + quote(value.text()) + " is not allowed; " + DURATION_ALLOWED);
            return defaultValue;
        }
        return duration;
    }

    /** A duration where 0 (with or without a unit) is also allowed, meaning what {@code zeroMeans} says. */
    private Duration durationOrZero(String key, Raw value, Duration defaultValue, String zeroMeans) {
        if (value != null && value.text() != null && value.text().strip().matches("0+\\s*(ms|s|m|min|h)?")) {
            return Duration.ZERO;
        }
        int before = problems.size();
        Duration d = duration(key, value, defaultValue);
        if (problems.size() > before) {
            problems.set(problems.size() - 1,
                    problems.getLast().replace("greater than 0 and at most", "0 (" + zeroMeans + ") or at most"));
        }
        return d;
    }

    private int size(String key, Raw value) {
        return (int) size(key, value, DEFAULT_MAX_MESSAGE_SIZE, MIN_MESSAGE_SIZE, MAX_MESSAGE_SIZE, "1kB to 1GB",
                "256MB");
    }

    private long size(String key, Raw value, long defaultValue, long min, long max, String range, String example) {
        if (value == null) {
            return defaultValue;
        }
        String allowed = "use a size from " + range + " in bytes or with unit B, kB, MB or GB (powers of 1024, "
                + "as in PostgreSQL; KiB, MiB and GiB mean the same), e.g. " + example;
        Matcher m = value.text() == null ? null : SIZE.matcher(value.text().strip());
        Long unit = m != null && m.matches() ? SIZE_UNITS.get(m.group(2).toLowerCase(Locale.ROOT)) : null;
        if (unit == null) {
            problems.add(value.where(key) + ": " + (value.text() == null ? "no value given"
                    : quote(value.text()) + " is not a size") + "; " + allowed);
            return defaultValue;
        }
        long amount = Long.parseLong(m.group(1));
        // Divided rather than multiplied, so a huge amount cannot overflow into range.
        if (amount > max / unit || amount * unit < min) {
            problems.add(value.where(key) + ": " + quote(value.text()) + " is not allowed; " + allowed);
            return defaultValue;
        }
        return amount * unit;
    }

    /** A value quoted for a message, shortened so a pasted blob cannot flood the output. */
    static String quote(String text) {
        String shown = text.length() > 80 ? text.substring(0, 77) + "..." : text;
        return "'" + shown + "'";
    }
}
