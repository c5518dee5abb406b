package io.pgrelay.conf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ConfigLoaderTest {
    private static final String PRIMARY = "primary: 127.0.0.1:5432\n";
    private static final String KEY = Base64.getEncoder().encodeToString(new byte[32]);
    private static final String SCRAM = "SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0$" + KEY + ":" + KEY;

    @TempDir
    Path dir;

    private Path write(String name, String text) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, text);
        return file;
    }

    private PgRelayConfig load(String yaml) throws IOException {
        return load(yaml, Map.of(), Map.of());
    }

    private PgRelayConfig load(String yaml, Map<String, String> env, Map<String, String> overrides) throws IOException {
        return ConfigLoader.load(Optional.of(write("pgrelay.yaml", yaml)), env, overrides);
    }

    private List<String> problems(String yaml) throws IOException {
        return problems(yaml, Map.of(), Map.of());
    }

    private List<String> problems(String yaml, Map<String, String> env, Map<String, String> overrides)
            throws IOException {
        Path file = write("pgrelay.yaml", yaml);
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Optional.of(file), env, overrides));
        assertEquals(String.join("\n", e.problems()), e.getMessage());
        return e.problems();
    }

    /** Asserts there is exactly one problem and that it contains every fragment. */
    private static void assertOneProblem(List<String> problems, String... fragments) {
        assertEquals(1, problems.size(), () -> "expected one problem, got: " + problems);
        assertContains(problems.getFirst(), fragments);
    }

    private static void assertContains(String text, String... fragments) {
        for (String fragment : fragments) {
            assertTrue(text.contains(fragment), () -> "expected '" + fragment + "' in: " + text);
        }
    }

    @Nested
    class Defaults {
        @Test
        void onlyAPrimaryGivesTheBuiltInDefaults() {
            PgRelayConfig c = ConfigLoader.load(Optional.empty(), Map.of(), Map.of("primary", "127.0.0.1:5432"));
            assertEquals(new HostPort("127.0.0.1", 6432), c.listen());
            assertEquals(List.of(new NodeConfig("primary", "127.0.0.1", 5432, NodeRole.PRIMARY, 1)), c.nodes());
            assertEquals(new PoolConfig(PoolMode.SESSION, 20, "DISCARD ALL", Duration.ofSeconds(5),
                    Duration.ofSeconds(120), 200, 0, 0,
                    Duration.ofSeconds(5), 10_000, Duration.ofMinutes(10), Duration.ofHours(1), Duration.ofSeconds(30),
                    List.of(), List.of()), c.pool());
            assertEquals(268_435_456, c.maxMessageSize());
            assertEquals(Duration.ofSeconds(10), c.startupTimeout());
            assertEquals(Duration.ofSeconds(30), c.shutdownTimeout());
            assertEquals(0, c.eventLoopThreads());
            assertEquals(List.of(), c.adminUsers(), "no admin users: the console is closed");
            assertEquals(new AuthConfig(Optional.empty(), Map.of(), List.of(
                    new AuthRule("all", "all", "all", AuthMethod.TRUST))), c.auth());
            assertEquals(new HealthCheckConfig(Duration.ofSeconds(1), Duration.ofSeconds(2), 3, Duration.ofMillis(50)),
                    c.healthCheck());
            assertEquals(new MonitorConfig("postgres", "", "postgres"), c.monitor());
            assertEquals(new FailoverConfig(true, Duration.ofSeconds(10), 16 << 20, true, Duration.ofSeconds(30)),
                    c.failover());
            assertEquals(new HooksConfig("", "", Duration.ofSeconds(30)), c.hooks());
            assertEquals(NodeConfig.DEFAULT_PRIORITY, c.primary().priority());
            assertEquals(new RoutingConfig(RoutingConfig.Consistency.SESSION, 0), c.routing());
        }

        @Test
        void nothingConfiguredAsksForAPrimary() {
            ConfigException e = assertThrows(ConfigException.class,
                    () -> ConfigLoader.load(Optional.empty(), Map.of(), Map.of()));
            assertOneProblem(e.problems(), "primary", "no primary server", "PGRELAY_PRIMARY", "role primary");
        }

        @Test
        void emptySectionsMeanDefaults() throws IOException {
            PgRelayConfig c = load(PRIMARY + "pool:\nauth:\n");
            assertEquals(20, c.pool().size());
            assertEquals(Optional.empty(), c.auth().usersFile());
        }

        @Test
        void emptyFileAsksForAPrimaryLikeNoFile() throws IOException {
            assertOneProblem(problems(""), "no primary server");
        }

        @Test
        void usersFileMakesScramTheDefaultRule() throws IOException {
            write("users.txt", "app: " + SCRAM + "\n");
            PgRelayConfig c = load(PRIMARY + "auth:\n  users_file: users.txt\n");
            assertEquals(List.of(new AuthRule("all", "all", "all", AuthMethod.SCRAM_SHA_256)), c.auth().rules());
            assertEquals(Map.of("app", SCRAM), c.auth().users());
        }

        @Test
        void emptyRulesListMeansDefaultRules() throws IOException {
            PgRelayConfig c = load(PRIMARY + "auth:\n  rules: []\n");
            assertEquals(List.of(new AuthRule("all", "all", "all", AuthMethod.TRUST)), c.auth().rules());
        }
    }

    @Nested
    class FileValues {
        @Test
        void everyKeyIsRead() throws IOException {
            write("users.txt", "app: " + SCRAM + "\n");
            PgRelayConfig c = load("""
                    listen: "[::1]:7000"
                    nodes:
                      - {name: a, host: db1.internal, role: primary}
                      - {name: b, host: "fd00::2", port: 5433, role: replica, weight: 3}
                      - {name: c, host: "[fd00::3]", role: REPLICA, weight: 0}
                    auth:
                      users_file: users.txt
                      rules:
                        - {address: 10.0.0.0/8, database: shop, user: app, method: md5}
                        - {address: "fd00::/8", method: scram-sha-256}
                        - {method: trust, user: monitor}
                        - {address: ALL, method: reject}
                    pool:
                      mode: transaction
                      size: 10000
                      server_reset_query: ""
                      server_connect_timeout: 500ms
                      query_wait_timeout: 2m
                    max_message_size: 1GiB
                    startup_timeout: 7
                    shutdown_timeout: 1h
                    event_loop_threads: 4
                    health_check:
                      period: 200ms
                      timeout: 1s
                      max_retries: 2
                      lsn_period: 20ms
                    monitor:
                      user: watcher
                      password: "pw: with colon"
                      database: ops
                    routing:
                      consistency: eventual
                      max_replica_lag: 64kB
                    failover:
                      enabled: false
                      grace_period: 3s
                      max_lag: 1GB
                      follow_primary: off
                      wait_timeout: 5s
                    hooks:
                      on_failover: "notify %{old_primary} %{new_primary} %{old_lsn} %{new_lsn} %{new_host}:%{new_port}"
                      on_node_down: "notify %{node} %{host} %{port}"
                      timeout: 4s
                    admin:
                      users: [ops, " monitor "]
                    """);
            assertEquals(new HostPort("::1", 7000), c.listen());
            assertEquals(List.of(
                    new NodeConfig("a", "db1.internal", 5432, NodeRole.PRIMARY, 1),
                    new NodeConfig("b", "fd00::2", 5433, NodeRole.REPLICA, 3),
                    new NodeConfig("c", "fd00::3", 5432, NodeRole.REPLICA, 0)), c.nodes());
            assertEquals("a", c.primary().name());
            assertEquals(Optional.of(dir.resolve("users.txt").toAbsolutePath().normalize()), c.auth().usersFile());
            assertEquals(List.of(
                    new AuthRule("10.0.0.0/8", "shop", "app", AuthMethod.MD5),
                    new AuthRule("fd00::/8", "all", "all", AuthMethod.SCRAM_SHA_256),
                    new AuthRule("all", "all", "monitor", AuthMethod.TRUST),
                    new AuthRule("all", "all", "all", AuthMethod.REJECT)), c.auth().rules());
            assertEquals(new PoolConfig(PoolMode.TRANSACTION, 10000, "", Duration.ofMillis(500), Duration.ofMinutes(2), 200, 0, 0,
                    Duration.ofSeconds(5), 10_000, Duration.ofMinutes(10), Duration.ofHours(1), Duration.ofSeconds(30),
                    List.of(), List.of()),
                    c.pool());
            assertEquals(1 << 30, c.maxMessageSize());
            assertEquals(Duration.ofSeconds(7), c.startupTimeout());
            assertEquals(Duration.ofHours(1), c.shutdownTimeout());
            assertEquals(4, c.eventLoopThreads());
            assertEquals(new HealthCheckConfig(Duration.ofMillis(200), Duration.ofSeconds(1), 2, Duration.ofMillis(20)),
                    c.healthCheck());
            assertEquals(new MonitorConfig("watcher", "pw: with colon", "ops"), c.monitor());
            assertEquals(new FailoverConfig(false, Duration.ofSeconds(3), 1L << 30, false, Duration.ofSeconds(5)),
                    c.failover());
            assertEquals(new HooksConfig("notify %{old_primary} %{new_primary} %{old_lsn} %{new_lsn} %{new_host}:%{new_port}",
                    "notify %{node} %{host} %{port}", Duration.ofSeconds(4)), c.hooks());
            assertEquals(List.of("ops", "monitor"), c.adminUsers());
            assertEquals(new RoutingConfig(RoutingConfig.Consistency.EVENTUAL, 64 << 10), c.routing());
        }

        @Test
        void unknownConsistencyNamesTheChoices() {
            ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Optional.empty(), Map.of(),
                    Map.of("primary", "127.0.0.1:5432", "routing.consistency", "strong")));
            assertOneProblem(e.problems(), "routing.consistency", "strong", "session, eventual or primary");
        }

        @Test
        void nodePriorityIsRead() throws IOException {
            PgRelayConfig c = load("""
                    nodes:
                      - {name: a, host: 127.0.0.1, role: primary}
                      - {name: b, host: 127.0.0.1, port: 5433, role: replica, priority: 0}
                      - {name: c, host: 127.0.0.1, port: 5434, role: replica, priority: 1000}
                    """);
            assertEquals(List.of(NodeConfig.DEFAULT_PRIORITY, 0, 1000),
                    c.nodes().stream().map(NodeConfig::priority).toList());
        }

        @Test
        void monitorPasswordNeverAppearsInToString() throws IOException {
            PgRelayConfig c = load(PRIMARY + "monitor:\n  password: hunter2\n");
            assertEquals("hunter2", c.monitor().password());
            assertFalse(c.toString().contains("hunter2"), c::toString);
        }

        @Test
        void resetQueryWithoutValueMeansNone() throws IOException {
            assertEquals("", load(PRIMARY + "pool:\n  server_reset_query:\n").pool().serverResetQuery());
        }

        @ParameterizedTest
        @CsvSource({"1kB,1024", "1KB,1024", "1KiB,1024", "64MB,67108864", "64 MiB,67108864", "1GB,1073741824",
                "1048576,1048576", "2048B,2048"})
        void sizes(String text, int bytes) throws IOException {
            assertEquals(bytes, load(PRIMARY + "max_message_size: " + text + "\n").maxMessageSize());
        }

        @ParameterizedTest
        @CsvSource({"500ms,500", "10s,10000", "5m,300000", "2min,120000", "1h,3600000", "7,7000", "168h,604800000"})
        void durations(String text, long millis) throws IOException {
            assertEquals(Duration.ofMillis(millis), load(PRIMARY + "startup_timeout: " + text + "\n").startupTimeout());
        }

        @ParameterizedTest
        @ValueSource(strings = {"127.0.0.1:6432", "127.9.9.9:6432", "localhost:6432", "LOCALHOST", "[::1]:6432"})
        void loopbackListenNeedsNoUsersFile(String listen) throws IOException {
            assertTrue(load(PRIMARY + "listen: \"" + listen + "\"\n").listen().isLoopback());
        }

        @Test
        void relativeUsersFileIsResolvedAgainstTheConfigFilesDirectory() throws IOException {
            Files.createDirectories(dir.resolve("etc"));
            Files.writeString(dir.resolve("etc/users.txt"), "app: pw\n");
            Path config = write("etc/pgrelay.yaml", PRIMARY + "auth:\n  users_file: users.txt\n");
            PgRelayConfig c = ConfigLoader.load(Optional.of(config), Map.of(), Map.of());
            assertEquals(Optional.of(dir.resolve("etc/users.txt").toAbsolutePath().normalize()), c.auth().usersFile());
        }
    }

    @Nested
    class Shorthand {
        @Test
        void primaryAndReplicasBecomeNamedNodes() throws IOException {
            PgRelayConfig c = load("""
                    primary: "10.0.0.1"
                    replicas: ["10.0.0.2:5433", "[fd00::3]:5434", "db4"]
                    listen: 127.0.0.1:6432
                    """);
            assertEquals(List.of(
                    new NodeConfig("primary", "10.0.0.1", 5432, NodeRole.PRIMARY, 1),
                    new NodeConfig("replica1", "10.0.0.2", 5433, NodeRole.REPLICA, 1),
                    new NodeConfig("replica2", "fd00::3", 5434, NodeRole.REPLICA, 1),
                    new NodeConfig("replica3", "db4", 5432, NodeRole.REPLICA, 1)), c.nodes());
        }

        @Test
        void nodesAndShorthandTogetherAreAnError() throws IOException {
            List<String> problems = problems("""
                    primary: 127.0.0.1:5432
                    nodes:
                      - {name: a, host: 127.0.0.1, role: primary}
                    """);
            assertOneProblem(problems, "nodes (from ", "primary (from ", "both set", "either");
        }

        @Test
        void replicasMustBeAList() throws IOException {
            assertOneProblem(problems(PRIMARY + "replicas: 127.0.0.1:5433\n"), "replicas (from ", "expected a list");
        }

        @Test
        void badReplicaAddressNamesItsIndex() throws IOException {
            assertOneProblem(problems(PRIMARY + "replicas: [\"127.0.0.1:5433\", \"127.0.0.1:0\"]\n"),
                    "replicas[1] (from ", "'127.0.0.1:0'", "port 0, which only listen accepts");
        }
    }

    @Nested
    class Environment {
        @Test
        void environmentBeatsFile() throws IOException {
            PgRelayConfig c = load(PRIMARY + "pool:\n  size: 10\n  mode: session\n",
                    Map.of("PGRELAY_POOL_SIZE", "30", "PGRELAY_POOL_MODE", "transaction"), Map.of());
            assertEquals(30, c.pool().size());
            assertEquals(PoolMode.TRANSACTION, c.pool().mode());
        }

        @Test
        void everySingleValuedKeyHasAVariable() {
            Map<String, String> env = Map.ofEntries(
                    Map.entry("PGRELAY_LISTEN", "127.0.0.2:7000"),
                    Map.entry("PGRELAY_PRIMARY", "10.0.0.1:5432"),
                    Map.entry("PGRELAY_REPLICAS", "10.0.0.2:5432, 10.0.0.3"),
                    Map.entry("PGRELAY_POOL_MODE", "transaction"),
                    Map.entry("PGRELAY_POOL_SIZE", "7"),
                    Map.entry("PGRELAY_POOL_SERVER_RESET_QUERY", ""),
                    Map.entry("PGRELAY_POOL_SERVER_CONNECT_TIMEOUT", "2s"),
                    Map.entry("PGRELAY_POOL_QUERY_WAIT_TIMEOUT", "3s"),
                    Map.entry("PGRELAY_POOL_MAX_PREPARED_STATEMENTS", "50"),
                    Map.entry("PGRELAY_POOL_MIN_POOL_SIZE", "2"),
                    Map.entry("PGRELAY_POOL_RESERVE_POOL_SIZE", "3"),
                    Map.entry("PGRELAY_POOL_RESERVE_POOL_TIMEOUT", "6s"),
                    Map.entry("PGRELAY_POOL_MAX_CLIENT_CONN", "500"),
                    Map.entry("PGRELAY_POOL_SERVER_IDLE_TIMEOUT", "7s"),
                    Map.entry("PGRELAY_POOL_SERVER_LIFETIME", "8s"),
                    Map.entry("PGRELAY_POOL_SERVER_CHECK_DELAY", "9s"),
                    Map.entry("PGRELAY_MAX_MESSAGE_SIZE", "1MB"),
                    Map.entry("PGRELAY_STARTUP_TIMEOUT", "4s"),
                    Map.entry("PGRELAY_SHUTDOWN_TIMEOUT", "5s"),
                    Map.entry("PGRELAY_EVENT_LOOP_THREADS", "2"),
                    Map.entry("PGRELAY_HEALTH_CHECK_PERIOD", "2s"),
                    Map.entry("PGRELAY_HEALTH_CHECK_TIMEOUT", "3s"),
                    Map.entry("PGRELAY_HEALTH_CHECK_MAX_RETRIES", "5"),
                    Map.entry("PGRELAY_HEALTH_CHECK_LSN_PERIOD", "100ms"),
                    Map.entry("PGRELAY_MONITOR_USER", "mon"),
                    Map.entry("PGRELAY_MONITOR_PASSWORD", "secret"),
                    Map.entry("PGRELAY_MONITOR_DATABASE", "db"),
                    Map.entry("PGRELAY_FAILOVER_ENABLED", "no"),
                    Map.entry("PGRELAY_FAILOVER_GRACE_PERIOD", "6s"),
                    Map.entry("PGRELAY_FAILOVER_MAX_LAG", "0"),
                    Map.entry("PGRELAY_FAILOVER_FOLLOW_PRIMARY", "FALSE"),
                    Map.entry("PGRELAY_FAILOVER_WAIT_TIMEOUT", "7s"),
                    Map.entry("PGRELAY_HOOKS_ON_FAILOVER", "echo %{new_primary}"),
                    Map.entry("PGRELAY_HOOKS_ON_NODE_DOWN", "echo %{node}"),
                    Map.entry("PGRELAY_HOOKS_TIMEOUT", "8s"),
                    Map.entry("PGRELAY_LOG_LEVEL", "debug"),
                    Map.entry("PGRELAY_LOG_FORMAT", "json"),
                    Map.entry("PGRELAY_ADMIN_LISTEN", "127.0.0.1:7001"),
                    Map.entry("PGRELAY_ADMIN_TOKEN", "0123456789abcdef"),
                    Map.entry("PGRELAY_ROUTING_CONSISTENCY", "primary"),
                    Map.entry("PGRELAY_ROUTING_MAX_REPLICA_LAG", "1MB"),
                    Map.entry("PGRELAY_ROUTING_MAX_REPLICA_LAG_TIME", "2s"),
                    Map.entry("PGRELAY_ROUTING_ON_NO_REPLICA", "error"),
                    Map.entry("PGRELAY_ROUTING_READ_ONLY_FUNCTIONS", "f1"),
                    Map.entry("PGRELAY_ROUTING_WRITE_FUNCTIONS", "f2,f3"),
                    Map.entry("PGRELAY_ROUTING_FUNCTION_REFRESH_PERIOD", "1m"),

                    Map.entry("PGRELAY_ADMIN_USERS", "ops, monitor"));
            PgRelayConfig c = ConfigLoader.load(Optional.empty(), env, Map.of());
            assertEquals(new HostPort("127.0.0.2", 7000), c.listen());
            assertEquals(List.of("primary", "replica1", "replica2"), c.nodes().stream().map(NodeConfig::name).toList());
            assertEquals(new PoolConfig(PoolMode.TRANSACTION, 7, "", Duration.ofSeconds(2), Duration.ofSeconds(3), 50, 2, 3,
                    Duration.ofSeconds(6), 500, Duration.ofSeconds(7), Duration.ofSeconds(8), Duration.ofSeconds(9),
                    List.of(), List.of()),
                    c.pool());
            assertEquals(1 << 20, c.maxMessageSize());
            assertEquals(Duration.ofSeconds(4), c.startupTimeout());
            assertEquals(Duration.ofSeconds(5), c.shutdownTimeout());
            assertEquals(2, c.eventLoopThreads());
            assertEquals(new HealthCheckConfig(Duration.ofSeconds(2), Duration.ofSeconds(3), 5, Duration.ofMillis(100)),
                    c.healthCheck());
            assertEquals(new MonitorConfig("mon", "secret", "db"), c.monitor());
            assertEquals(new FailoverConfig(false, Duration.ofSeconds(6), 0, false, Duration.ofSeconds(7)), c.failover());
            assertEquals(new HooksConfig("echo %{new_primary}", "echo %{node}", Duration.ofSeconds(8)), c.hooks());
            assertEquals(new LogConfig(LogConfig.Level.DEBUG, LogConfig.Format.JSON), c.log());
            assertEquals(new AdminConfig(new HostPort("127.0.0.1", 7001), Optional.of("0123456789abcdef")), c.admin());
            assertEquals(List.of("ops", "monitor"), c.adminUsers());
            assertEquals(new RoutingConfig(RoutingConfig.Consistency.PRIMARY, 1 << 20, Duration.ofSeconds(2),
                    RoutingConfig.OnNoReplica.ERROR, List.of("f1"), List.of("f2", "f3"), Duration.ofMinutes(1),
                    Map.of(), Map.of()), c.routing());
            for (String key : ConfigLoader.overridableKeys()) {
                // pgpool's names cannot be set together with pgrelay's; the Routing tests cover them.
                if (!key.equals("auth.users_file") && !key.endsWith("_function_list")) {
                    assertTrue(env.containsKey(ConfigLoader.environmentVariable(key)), key);
                }
            }
        }

        @Test
        void usersFileFromEnvironmentIsResolvedAgainstTheWorkingDirectory() throws IOException {
            Path users = write("users.txt", "app: pw\n");
            PgRelayConfig c = ConfigLoader.load(Optional.empty(),
                    Map.of("PGRELAY_PRIMARY", "127.0.0.1", "PGRELAY_AUTH_USERS_FILE", users.toString()), Map.of());
            assertEquals(Optional.of(users.toAbsolutePath().normalize()), c.auth().usersFile());
            assertEquals(Map.of("app", "pw"), c.auth().users());
        }

        @Test
        void shorthandFromEnvironmentReplacesTheFilesNodes() throws IOException {
            PgRelayConfig c = load("""
                    nodes:
                      - {name: a, host: 127.0.0.1, role: primary}
                      - {name: b, host: 127.0.0.1, port: 5433, role: replica}
                    """, Map.of("PGRELAY_PRIMARY", "10.1.1.1:6000"), Map.of());
            assertEquals(List.of(new NodeConfig("primary", "10.1.1.1", 6000, NodeRole.PRIMARY, 1)), c.nodes());
        }

        @Test
        void replicasFromEnvironmentKeepTheFilesShorthandPrimary() throws IOException {
            PgRelayConfig c = load(PRIMARY + "replicas: [\"127.0.0.1:5433\"]\n",
                    Map.of("PGRELAY_REPLICAS", "127.0.0.1:6001,127.0.0.1:6002"), Map.of());
            assertEquals(List.of(5432, 6001, 6002), c.nodes().stream().map(NodeConfig::port).toList());
            assertEquals("127.0.0.1:5432", c.primary().address().toString());
        }

        @Test
        void emptyReplicasVariableRemovesTheReplicas() throws IOException {
            PgRelayConfig c = load(PRIMARY + "replicas: [\"127.0.0.1:5433\"]\n", Map.of("PGRELAY_REPLICAS", ""), Map.of());
            assertEquals(1, c.nodes().size());
        }

        @Test
        void replicasAloneReplacingFileNodesSayWhyThereIsNoPrimary() throws IOException {
            List<String> problems = problems("nodes:\n  - {name: a, host: 127.0.0.1, role: primary}\n",
                    Map.of("PGRELAY_REPLICAS", "127.0.0.1:5433"), Map.of());
            assertOneProblem(problems, "no primary", "replicas (from environment PGRELAY_REPLICAS) replaced the nodes");
        }

        @Test
        void errorsNameTheVariable() throws IOException {
            assertOneProblem(problems(PRIMARY, Map.of("PGRELAY_POOL_SIZE", "abc"), Map.of()),
                    "pool.size (from environment PGRELAY_POOL_SIZE): 'abc' is not an integer; "
                            + "use an integer from 1 to 10000");
        }

        @Test
        void unknownVariableIsAnErrorWithASuggestion() throws IOException {
            assertOneProblem(problems(PRIMARY, Map.of("PGRELAY_POOL_SIZ", "5"), Map.of()),
                    "unknown environment variable PGRELAY_POOL_SIZ", "did you mean PGRELAY_POOL_SIZE?");
            assertOneProblem(problems(PRIMARY, Map.of("PGRELAY_WHATEVER", "5"), Map.of()),
                    "unknown environment variable PGRELAY_WHATEVER", "PGRELAY_POOL_SIZE", "PGRELAY_LISTEN");
        }

        @Test
        void fileOnlyKeysCannotComeFromTheEnvironment() throws IOException {
            assertOneProblem(problems(PRIMARY, Map.of("PGRELAY_NODES", "x"), Map.of()),
                    "PGRELAY_NODES", "only be set in the config file", "PGRELAY_PRIMARY");
        }

        @Test
        void otherVariablesAreIgnored() throws IOException {
            PgRelayConfig c = load(PRIMARY, Map.of("PGRELAY_ADMIN", "x", "PGRELAY_HOME", "/opt", "PGRELAY_OPTS", "-Xmx1g",
                    "PGRELAY_JAR", "/opt/pgrelay.jar", "PGRELAY_CONFIG", "/etc/pgrelay.yaml", "PATH", "/bin",
                    "pgrelay_pool_size", "abc"), Map.of());
            assertEquals(20, c.pool().size());
        }
    }

    @Nested
    class Overrides {
        @Test
        void flagsBeatEnvironmentAndFile() throws IOException {
            PgRelayConfig c = load(PRIMARY + "pool:\n  size: 10\n",
                    Map.of("PGRELAY_POOL_SIZE", "30", "PGRELAY_LISTEN", "127.0.0.1:7000"),
                    Map.of("pool.size", "40", "listen", "127.0.0.1:8000", "pool.mode", "transaction"));
            assertEquals(40, c.pool().size());
            assertEquals(8000, c.listen().port());
            assertEquals(PoolMode.TRANSACTION, c.pool().mode());
        }

        @Test
        void shorthandFlagsBeatEnvironment() {
            PgRelayConfig c = ConfigLoader.load(Optional.empty(),
                    Map.of("PGRELAY_PRIMARY", "10.0.0.1", "PGRELAY_REPLICAS", "10.0.0.2"),
                    Map.of("primary", "10.9.0.1:5432", "replicas", "10.9.0.2:5432,10.9.0.3:5432"));
            assertEquals(List.of("10.9.0.1", "10.9.0.2", "10.9.0.3"), c.nodes().stream().map(NodeConfig::host).toList());
        }

        @Test
        void adminUsersFromTheCommandLineReplaceTheFilesList() throws IOException {
            String yaml = PRIMARY + "admin:\n  users: [ops]\n";
            assertEquals(List.of("app", "ops"), load(yaml, Map.of(), Map.of("admin.users", "app,ops")).adminUsers());
            assertEquals(List.of(), load(yaml, Map.of("PGRELAY_ADMIN_USERS", ""), Map.of()).adminUsers());
            assertEquals(List.of("ops"), load(yaml).adminUsers());
        }

        @Test
        void errorsSayTheyCameFromTheCommandLine() throws IOException {
            assertOneProblem(problems(PRIMARY, Map.of(), Map.of("pool.mode", "statement")),
                    "pool.mode (from command line): 'statement' is not allowed; use session or transaction");
        }

        @Test
        void unknownKeyIsAnErrorWithASuggestion() throws IOException {
            assertOneProblem(problems(PRIMARY, Map.of(), Map.of("pool.sise", "5")),
                    "unknown key pool.sise (from command line); did you mean pool.size?");
            assertOneProblem(problems(PRIMARY, Map.of(), Map.of("nodes", "x")),
                    "nodes (from command line): can only be set in the config file");
        }
    }

    @Nested
    class Validation {
        @Test
        void perDatabaseAndPerUserPoolSettings() throws IOException {
            PgRelayConfig c = load("""
                    primary: 127.0.0.1:5432
                    pool: {mode: transaction, size: 20}
                    databases:
                      - {name: reporting, pool_mode: session, pool_size: 5, max_db_connections: 8}
                    users:
                      - {name: batch, pool_mode: session, max_user_connections: 3}
                      - {name: web, pool_mode: transaction}
                    """);
            PoolConfig p = c.pool();
            assertEquals(PoolMode.TRANSACTION, p.modeFor("app", "alice"));
            assertEquals(PoolMode.SESSION, p.modeFor("reporting", "alice"));
            assertEquals(PoolMode.SESSION, p.modeFor("app", "batch"));
            assertEquals(PoolMode.TRANSACTION, p.modeFor("reporting", "web"), "a user's mode wins");
            assertEquals(5, p.sizeFor("reporting"));
            assertEquals(20, p.sizeFor("app"));
            assertEquals(8, p.maxDatabaseConnections("reporting"));
            assertEquals(0, p.maxDatabaseConnections("app"));
            assertEquals(3, p.maxUserConnections("batch"));
            assertEquals(0, p.maxUserConnections("web"));
        }

        @Test
        void badPerDatabaseEntriesNameTheKey() throws IOException {
            List<String> problems = problems("""
                    primary: 127.0.0.1:5432
                    databases:
                      - {name: a, pool_mode: sometimes}
                      - {pool_size: 3}
                      - {name: a}
                    """);
            String all = String.join("\n", problems);
            assertContains(all, "databases[0].pool_mode", "sometimes", "databases[1]", "name is missing",
                    "'a' is listed twice");
            assertContains(String.join("\n", problems("""
                    primary: 127.0.0.1:5432
                    users:
                      - {name: u, pool_size: 3}
                    """)), "unknown key users[0].pool_size");
        }

        @Test
        void minPoolSizeAboveThePoolSizeIsRefused() throws IOException {
            List<String> problems = problems("""
                    primary: 127.0.0.1:5432
                    pool:
                      size: 4
                      min_pool_size: 5
                    """);
            assertEquals(List.of("pool.min_pool_size: 5 is larger than pool.size 4; make it at most 4"), problems);
        }

        @Test
        void unknownKeysSuggestTheNearestKnownOne() throws IOException {
            List<String> problems = problems("""
                    primary: 127.0.0.1:5432
                    pool:
                      sise: 5
                    size: 5
                    nodez: []
                    auth:
                      rules:
                        - {metod: trust, method: trust}
                    colour: blue
                    """);
            assertEquals(5, problems.size(), problems::toString);
            assertContains(problems.get(0), "unknown key pool.sise (from ", "pgrelay.yaml:3); did you mean pool.size?");
            assertContains(problems.get(1), "unknown key size", "did you mean pool.size?");
            assertContains(problems.get(2), "unknown key nodez", "did you mean nodes?");
            assertContains(problems.get(3), "unknown key auth.rules[0].metod", "did you mean auth.rules[0].method?");
            assertEquals("unknown key colour (from " + dir.resolve("pgrelay.yaml") + ":9)", problems.get(4));
        }

        @Test
        void unknownNodeFieldSuggestsTheFieldOfThatNode() throws IOException {
            List<String> problems = problems("""
                    nodes:
                      - {name: a, host: 127.0.0.1, role: primary}
                      - {name: b, hots: 127.0.0.1, role: replica}
                    """);
            assertContains(String.join("\n", problems), "unknown key nodes[1].hots", "did you mean nodes[1].host?",
                    "nodes[1] (from ", "host is missing");
        }

        @ParameterizedTest
        @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
                "pool.size|abc|'abc' is not an integer; use an integer from 1 to 10000",
                "pool.size|0|0 is not allowed; use an integer from 1 to 10000",
                "pool.size|10001|10001 is not allowed; use an integer from 1 to 10000",
                "pool.size|2.5|'2.5' is not an integer; use an integer from 1 to 10000",
                "event_loop_threads|-1|-1 is not allowed; use an integer from 0 to 1024",
                "pool.mode|statement|'statement' is not allowed; use session or transaction",
                "startup_timeout|10 parsecs|'10 parsecs' is not a duration; use a number with unit ms, s, m or h",
                "startup_timeout|0s|'0s' is not allowed; use a number with unit ms, s, m or h",
                "shutdown_timeout|-5s|'-5s' is not a duration",
                "pool.query_wait_timeout|169h|'169h' is not allowed; use a number",
                "pool.server_connect_timeout|1.5s|'1.5s' is not a duration",
                "max_message_size|1TB|'1TB' is not a size; use a size from 1kB to 1GB",
                "max_message_size|abc|'abc' is not a size; use a size from 1kB to 1GB",
                "max_message_size|512B|'512B' is not allowed; use a size from 1kB to 1GB",
                "max_message_size|2GB|'2GB' is not allowed; use a size from 1kB to 1GB",
                "max_message_size|99999999999999|'99999999999999' is not allowed; use a size from 1kB to 1GB",
                "listen|127.0.0.1:99999|'127.0.0.1:99999' is not a valid address: port 99999 is out of range (0 to 65535)",
                "listen|::1:6432|an IPv6 address needs brackets",
                "listen|*:6432|use 0.0.0.0 or [::] for all addresses",
                "listen|127.0.0.1:http|port 'http' is not a number",
                "listen|300.1.1.1:6432|'300.1.1.1' is not a valid IP address",
                "listen|[127.0.0.1]:6432|brackets are only for IPv6 addresses",
                "health_check.period|0|'0' is not allowed; use a number with unit ms, s, m or h",
                "health_check.timeout|soon|'soon' is not a duration",
                "health_check.max_retries|0|0 is not allowed; use an integer from 1 to 100",
                "health_check.lsn_period|-1ms|'-1ms' is not a duration",
                "monitor.user|\"\"|no value given; use a role name",
                "monitor.database|\"\"|no value given; use a database name",
                "failover.enabled|maybe|'maybe' is not allowed; use true or false",
                "failover.follow_primary|\"\"|no value given; use true or false",
                "failover.grace_period|10 parsecs|'10 parsecs' is not a duration",
                "failover.max_lag|2048GB|'2048GB' is not allowed; use a size from 0 to 1024GB",
                "failover.max_lag|99999999999999GB|'99999999999999GB' is not allowed; use a size from 0 to 1024GB",
                "failover.max_lag|lots|'lots' is not a size",
                "failover.wait_timeout|169h|'169h' is not allowed",
                "hooks.on_failover|echo %{primary}|placeholder '%{primary}' is not known; use %{old_primary}, %{new_primary}",
                "hooks.on_node_down|echo %{new_primary}|placeholder '%{new_primary}' is not known; use %{node}, %{host}, %{port}",
                "hooks.timeout|0ms|'0ms' is not allowed",
        })
        void badValue(String key, String value, String message) throws IOException {
            int dot = key.indexOf('.');
            String yaml = dot > 0
                    ? PRIMARY + key.substring(0, dot) + ":\n  " + key.substring(dot + 1) + ": \"" + value + "\"\n"
                    : PRIMARY + key + ": \"" + value + "\"\n";
            List<String> problems = problems(yaml);
            assertOneProblem(problems, key + " (from " + dir.resolve("pgrelay.yaml") + ":", message);
        }

        @Test
        void listenOnPortZeroLetsTheOperatingSystemPick() {
            PgRelayConfig config = ConfigLoader.load(Optional.empty(), Map.of(),
                    Map.of("listen", "127.0.0.1:0", "primary", "127.0.0.1:5432"));
            assertEquals(0, config.listen().port());
        }

        @Test
        void valuesMissingAfterTheColonAreReported() throws IOException {
            List<String> problems = problems(PRIMARY + "listen:\npool:\n  size:\n  mode:\nmax_message_size:\n");
            assertEquals(4, problems.size(), problems::toString);
            assertContains(problems.get(0), "listen (from ", "no value given; use host:port");
            assertContains(problems.get(1), "pool.mode (from ", "no value given; use session or transaction");
            assertContains(problems.get(2), "pool.size (from ", "no value given; use an integer from 1 to 10000");
            assertContains(problems.get(3), "max_message_size (from ", "no value given; use a size");
        }

        @Test
        void badAdminUsers() throws IOException {
            List<String> problems = problems(PRIMARY + "admin:\n  users: [ops, \"\", ops]\n  user: x\n");
            assertEquals(3, problems.size(), problems::toString);
            assertContains(problems.get(0), "unknown key admin.user (from ", "did you mean admin.users?");
            assertContains(problems.get(1), "admin.users[1] (from ", "no value given; use a user name");
            assertContains(problems.get(2), "admin.users[2] (from ", "'ops' is listed twice");
            assertOneProblem(problems(PRIMARY + "admin:\n  users: ops\n"),
                    "admin.users (from ", "expected a list such as [\"admin\", \"ops\"], not a single value");
            assertOneProblem(problems(PRIMARY, Map.of(), Map.of("admin.users", "ops,")),
                    "admin.users[1] (from command line): no value given");
        }

        @Test
        void wrongShapesAreReported() throws IOException {
            List<String> problems = problems(PRIMARY + "pool: 5\nlisten: [a, b]\nauth:\n  rules: trust\n");
            assertEquals(3, problems.size(), problems::toString);
            assertContains(problems.get(0), "pool (from ", "expected a mapping of keys, not a single value");
            assertContains(problems.get(1), "listen (from ", "expected a single value, not a list");
            assertContains(problems.get(2), "auth.rules (from ", "expected a list of mappings", "method");
        }

        @Test
        void twoPrimaries() throws IOException {
            List<String> problems = problems("""
                    nodes:
                      - {name: a, host: 127.0.0.1, role: primary}
                      - {name: b, host: 127.0.0.1, port: 5433, role: replica}
                      - {name: c, host: 127.0.0.1, port: 5434, role: primary}
                    """);
            assertOneProblem(problems, "nodes (from ", ":2)", "'a' (nodes[0]) and 'c' (nodes[2]) have role primary",
                    "exactly one node may be the primary");
        }

        @Test
        void noPrimary() throws IOException {
            assertOneProblem(problems("nodes:\n  - {name: a, host: 127.0.0.1, role: replica}\n"),
                    "nodes (from ", "no node has role primary; exactly one node must be the primary");
            assertOneProblem(problems("nodes: []\n"), "nodes (from ", "no node has role primary");
        }

        @Test
        void duplicateNodeNames() throws IOException {
            List<String> problems = problems("""
                    nodes:
                      - {name: a, host: 127.0.0.1, role: primary}
                      - {name: a, host: 127.0.0.1, port: 5433, role: replica}
                    """);
            assertOneProblem(problems, "nodes[1].name (from ", ":3)", "'a' is already the name of nodes[0]",
                    "node names must be unique");
        }

        @Test
        void badNodeFields() throws IOException {
            List<String> problems = problems("""
                    nodes:
                      - {name: "a b", host: "bad host", port: 70000, role: leader, weight: -1, priority: 1001}
                      - {host: 127.0.0.1, role: primary}
                    """);
            assertEquals(7, problems.size(), problems::toString);
            assertContains(problems.get(0), "nodes[0].name (from ", "'a b' is not allowed", "letters, digits");
            assertContains(problems.get(1), "nodes[0].host (from ", "'bad host' is not a valid host name");
            assertContains(problems.get(2), "nodes[0].port (from ", "70000 is not allowed; use an integer from 1 to 65535");
            assertContains(problems.get(3), "nodes[0].role (from ", "'leader' is not allowed; use primary or replica");
            assertContains(problems.get(4), "nodes[0].weight (from ", "-1 is not allowed; use an integer from 0 to 10000");
            assertContains(problems.get(5), "nodes[0].priority (from ", "1001 is not allowed; use an integer from 0 to 1000",
                    "0 never");
            assertContains(problems.get(6), "nodes[1] (from ", "name is missing");
        }

        @ParameterizedTest
        @CsvSource(delimiter = '|', quoteCharacter = '"', value = {
                "10.0.0.0/33|prefix length '33' is not a number from 0 to 32 for an IPv4 address",
                "fd00::/129|prefix length '129' is not a number from 0 to 128 for an IPv6 address",
                "10.0.0.300/8|'10.0.0.300' is not an IPv4 or IPv6 address",
                "10.0.0.1|it has no /prefix-length",
                "db.example.com/8|'db.example.com' is not an IPv4 or IPv6 address",
                "fe80::1%eth0/64|'fe80::1%eth0' is not an IPv4 or IPv6 address",
                "10.0.0.0/x|prefix length 'x' is not a number",
        })
        void badCidr(String address, String message) throws IOException {
            List<String> problems = problems(PRIMARY + "auth:\n  rules:\n    - {address: \"" + address
                    + "\", method: trust}\n");
            assertOneProblem(problems, "auth.rules[0].address (from ", "'" + address + "' is not a valid CIDR: ",
                    message, "use all or a CIDR such as 10.0.0.0/8");
        }

        @Test
        void ruleNeedsAMethod() throws IOException {
            assertOneProblem(problems(PRIMARY + "auth:\n  rules:\n    - {address: all}\n"),
                    "auth.rules[0] (from ", "method is missing; give trust, md5, scram-sha-256 or reject");
            assertOneProblem(problems(PRIMARY + "auth:\n  rules:\n    - {method: password}\n"),
                    "auth.rules[0].method (from ", "'password' is not allowed; use trust, md5, scram-sha-256 or reject");
        }

        @Test
        void nonLoopbackListenWithoutUsersFileIsRefused() throws IOException {
            assertOneProblem(problems(PRIMARY + "listen: 0.0.0.0:6432\n"),
                    "auth.users_file: pgrelay listens on 0.0.0.0:6432 (listen from ",
                    "without a users file, which would let anyone connect as any user; set auth.users_file "
                            + "(see `pgrelay passwd`) or listen on 127.0.0.1");
            assertOneProblem(problems(PRIMARY, Map.of("PGRELAY_LISTEN", "[::]:6432"), Map.of()),
                    "auth.users_file: pgrelay listens on [::]:6432 (listen from environment PGRELAY_LISTEN)");
            assertOneProblem(problems(PRIMARY + "listen: db.internal:6432\n"), "pgrelay listens on db.internal:6432");
        }

        @Test
        void nonLoopbackListenWithUsersFileIsFine() throws IOException {
            write("users.txt", "app: " + SCRAM + "\n");
            PgRelayConfig c = load(PRIMARY + "listen: 0.0.0.0:6432\nauth:\n  users_file: users.txt\n");
            assertFalse(c.listen().isLoopback());
        }

        @ParameterizedTest
        @ValueSource(strings = {"md5", "scram-sha-256"})
        void passwordMethodWithoutUsersFile(String method) throws IOException {
            List<String> problems = problems(PRIMARY + "auth:\n  rules:\n    - {method: trust, user: a}\n"
                    + "    - {method: " + method + "}\n");
            assertOneProblem(problems, "auth.rules[1].method (from ", method + " checks passwords",
                    "needs a users file", "set auth.users_file");
        }

        @Test
        void missingUsersFileNamesKeyAndPath() throws IOException {
            List<String> problems = problems(PRIMARY + "auth:\n  users_file: nope/users.txt\n");
            assertOneProblem(problems, "auth.users_file (from ", dir.resolve("nope/users.txt").toString(),
                    "does not exist");
        }

        @Test
        void duplicateUserInUsersFile() throws IOException {
            write("users.txt", "# users\napp: " + SCRAM + "\nother: x\n\napp: secret-two\n");
            List<String> problems = problems(PRIMARY + "auth:\n  users_file: users.txt\n");
            assertOneProblem(problems, "auth.users_file (from ", "user 'app' is on lines 2 and 5",
                    "each user may appear once");
        }

        @Test
        void secretsNeverAppearInErrors() throws IOException {
            write("users.txt", String.join("\n",
                    "app: " + SCRAM,
                    "app: hunter2-duplicate",
                    "broken-line-hunter3",
                    "spaced user: hunter4",
                    "\"unterminated: hunter5",
                    "bad: SCRAM-SHA-256$4096:c2FsdA==$hunter6:hunter7",
                    "bad2: SCRAM-SHA-256$hunter8",
                    "empty:   "));
            List<String> problems = problems(PRIMARY + "listen: 0.0.0.0:1\nauth:\n  users_file: users.txt\n");
            String all = String.join("\n", problems);
            assertEquals(7, problems.size(), all);
            for (String secret : List.of("hunter", SCRAM.substring(20), "c2FsdA")) {
                assertFalse(all.contains(secret), () -> secret + " leaked into: " + all);
            }
            assertContains(all, "users.txt:3: no ':' between user and secret", "users.txt:4: the user name contains a space",
                    "users.txt:5: the quoted user name has no closing", "users.txt:6: the secret of user 'bad' has a "
                            + "StoredKey or ServerKey that is not 32 bytes", "users.txt:7: the secret of user 'bad2'",
                    "users.txt:8: user 'empty' has no secret");
        }

        @Test
        void allProblemsAreReportedTogether() throws IOException {
            List<String> problems = problems("""
                    listen: 0.0.0.0:6432
                    nodes:
                      - {name: a, host: 127.0.0.1, role: replica}
                      - {name: a, host: "::1", port: 99999, role: replica}
                    auth:
                      rules:
                        - {address: 10.0.0.0/40, method: md5}
                    pool:
                      size: big
                      mode: statement
                      sise: 4
                    max_message_size: 2GB
                    startup_timeout: soon
                    """, Map.of("PGRELAY_SHUTDOWN_TIMEOUT", "0", "PGRELAY_TYPO", "1"), Map.of("event_loop_threads", "-2"));
            String all = String.join("\n", problems);
            for (String key : List.of("unknown key pool.sise", "PGRELAY_TYPO", "nodes (", "nodes[1].port",
                    "nodes[1].name (from ", "'a' is already the name of nodes[0]", "auth.rules[0].address",
                    "auth.rules[0].method", "auth.users_file: pgrelay listens on", "pool.mode", "pool.size",
                    "max_message_size", "startup_timeout", "shutdown_timeout (from environment", "event_loop_threads (from command line)")) {
                assertContains(all, key);
            }
            assertEquals(14, problems.size(), all);
        }

        @Test
        void yamlSyntaxErrorGivesTheLine() throws IOException {
            assertOneProblem(problems(PRIMARY + "pool:\n  size: [1, 2\n"), "pgrelay.yaml:", "not valid YAML");
        }

        @Test
        void duplicateYamlKey() throws IOException {
            assertOneProblem(problems(PRIMARY + "pool:\n  size: 1\n  size: 2\n"),
                    "pool.size (from ", ":4): duplicate key, already set on line 3");
        }

        @Test
        void topLevelMustBeAMapping() throws IOException {
            assertOneProblem(problems("- a\n- b\n"), "expected keys such as listen");
        }

        @Test
        void missingConfigFile() {
            ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(
                    Optional.of(dir.resolve("absent.yaml")), Map.of("PGRELAY_POOL_SIZ", "1"), Map.of()));
            assertEquals(2, e.problems().size(), e.problems()::toString);
            assertContains(e.problems().get(0), "config file " + dir.resolve("absent.yaml") + " does not exist");
            assertContains(e.problems().get(1), "PGRELAY_POOL_SIZ");
        }

        @Test
        void yamlTagsCannotInstantiateClasses() throws IOException {
            assertOneProblem(problems(PRIMARY + "listen: !!javax.script.ScriptEngineManager [a]\n"),
                    "pgrelay.yaml:2:", "not valid YAML", "tag is not allowed");
        }
    }

    @Nested
    class Routing {
        @Test
        void defaults() throws IOException {
            RoutingConfig r = load(PRIMARY).routing();
            assertEquals(Duration.ZERO, r.maxReplicaLagTime());
            assertEquals(RoutingConfig.OnNoReplica.PRIMARY, r.onNoReplica());
            assertEquals(List.of(), r.readOnlyFunctions());
            assertEquals(List.of(), r.writeFunctions());
            assertEquals(Duration.ofMinutes(5), r.functionRefreshPeriod());
            assertEquals(RoutingConfig.Consistency.SESSION, r.consistencyFor("app", "app"));
        }

        @Test
        void everyRoutingKeyFromTheFile() throws IOException {
            RoutingConfig r = load(PRIMARY + """
                    routing:
                      consistency: eventual
                      max_replica_lag_time: 5s
                      on_no_replica: error
                      read_only_functions: [my_stats, 'reports."Summary"', "audit_*"]
                      write_functions: "bump_counter, billing.*"
                      function_refresh_period: 0
                    """).routing();
            assertEquals(Duration.ofSeconds(5), r.maxReplicaLagTime());
            assertEquals(RoutingConfig.OnNoReplica.ERROR, r.onNoReplica());
            assertEquals(List.of("my_stats", "reports.\"Summary\"", "audit_*"), r.readOnlyFunctions());
            assertEquals(List.of("bump_counter", "billing.*"), r.writeFunctions());
            assertEquals(Duration.ZERO, r.functionRefreshPeriod());
        }

        @Test
        void pgpoolNamesAreAliasesInListAndStringForm() throws IOException {
            RoutingConfig r = load(PRIMARY + """
                    routing:
                      read_only_function_list: 'nextval_safe,my_fn'
                      write_function_list: [set_.*, "Public.Writer"]
                    """).routing();
            assertEquals(List.of("nextval_safe", "my_fn"), r.readOnlyFunctions());
            assertEquals(List.of("set_.*", "Public.Writer"), r.writeFunctions());
        }

        @Test
        void aNameAndItsPgpoolAliasTogetherIsAnError() throws IOException {
            assertOneProblem(problems(PRIMARY + """
                    routing:
                      write_functions: [a]
                      write_function_list: b
                    """), "routing.write_functions", "routing.write_function_list", "pgpool's name", "keep one");
        }

        @Test
        void aMalformedFunctionNameIsNamed() throws IOException {
            assertOneProblem(problems(PRIMARY + """
                    routing:
                      read_only_functions: "ok_fn, bad fn(int)"
                    """), "routing.read_only_functions", "'bad fn(int)'", "is not a function name", "prefix ending in *");
        }

        @Test
        void functionListsFromTheEnvironment() throws IOException {
            RoutingConfig r = load(PRIMARY, Map.of("PGRELAY_ROUTING_READ_ONLY_FUNCTIONS", "f1, s.f2",
                    "PGRELAY_ROUTING_FUNCTION_REFRESH_PERIOD", "30s", "PGRELAY_ROUTING_ON_NO_REPLICA", "ERROR",
                    "PGRELAY_ROUTING_MAX_REPLICA_LAG_TIME", "500ms"), Map.of()).routing();
            assertEquals(List.of("f1", "s.f2"), r.readOnlyFunctions());
            assertEquals(Duration.ofSeconds(30), r.functionRefreshPeriod());
            assertEquals(RoutingConfig.OnNoReplica.ERROR, r.onNoReplica());
            assertEquals(Duration.ofMillis(500), r.maxReplicaLagTime());
        }

        @Test
        void badValuesNameTheKeyAndTheChoices() throws IOException {
            List<String> p = problems(PRIMARY + """
                    routing:
                      on_no_replica: replica
                      max_replica_lag_time: soon
                      function_refresh_period: -1s
                    """);
            assertEquals(3, p.size(), p::toString);
            assertContains(p.get(0), "routing.max_replica_lag_time", "'soon'", "0 for no limit");
            assertContains(p.get(1), "routing.on_no_replica", "'replica'", "primary or error");
            assertContains(p.get(2), "routing.function_refresh_period", "'-1s'", "0 reads pg_proc only at start");
        }

        @Test
        void aUsersConsistencyBeatsItsDatabasesWhichBeatsTheDefault() throws IOException {
            RoutingConfig r = load(PRIMARY + """
                    routing:
                      consistency: session
                    databases:
                      - {name: app, consistency: eventual}
                      - {name: reports, pool_size: 5}
                    users:
                      - {name: auditor, consistency: primary}
                    """).routing();
            assertEquals(RoutingConfig.Consistency.PRIMARY, r.consistencyFor("app", "auditor"));
            assertEquals(RoutingConfig.Consistency.EVENTUAL, r.consistencyFor("app", "web"));
            assertEquals(RoutingConfig.Consistency.SESSION, r.consistencyFor("reports", "web"));
            assertEquals(RoutingConfig.Consistency.PRIMARY, r.consistencyFor("reports", "auditor"));
        }

        @Test
        void theCommandLineSetsOnlyTheDefaultConsistency() throws IOException {
            RoutingConfig r = load(PRIMARY + """
                    databases:
                      - {name: app, consistency: eventual}
                    """, Map.of(), Map.of("routing.consistency", "primary")).routing();
            assertEquals(RoutingConfig.Consistency.EVENTUAL, r.consistencyFor("app", "web"));
            assertEquals(RoutingConfig.Consistency.PRIMARY, r.consistencyFor("other", "web"));
        }

        @Test
        void aBadPerUserConsistencyNamesTheEntry() throws IOException {
            assertOneProblem(problems(PRIMARY + """
                    users:
                      - {name: web, consistency: strong}
                    """), "users[0].consistency", "'strong'", "session, eventual or primary");
        }
    }

    @Nested
    class Check {
        @Test
        void checkReturnsProblemsInsteadOfThrowing() throws IOException {
            assertEquals(List.of(), ConfigLoader.check(write("ok.yaml", PRIMARY), Map.of()));
            List<String> problems = ConfigLoader.check(write("bad.yaml", PRIMARY + "pool:\n  size: 0\n"), Map.of());
            assertOneProblem(problems, "pool.size", "1 to 10000");
        }
    }

    @Test
    void knownKeys() {
        assertEquals(List.of("listen", "primary", "replicas", "nodes", "nodes[].name", "nodes[].host", "nodes[].port",
                "nodes[].role", "nodes[].weight", "nodes[].priority", "auth.users_file", "auth.rules", "auth.rules[].address",
                "auth.rules[].database", "auth.rules[].user", "auth.rules[].method", "pool.mode", "pool.size",
                "pool.server_reset_query", "pool.server_connect_timeout", "pool.query_wait_timeout",
                "pool.max_prepared_statements", "pool.min_pool_size", "pool.reserve_pool_size",
                "pool.reserve_pool_timeout", "pool.max_client_conn", "pool.server_idle_timeout", "pool.server_lifetime",
                "pool.server_check_delay", "databases", "databases[].name", "databases[].pool_mode",
                "databases[].pool_size", "databases[].max_db_connections", "databases[].consistency", "users",
                "users[].name", "users[].pool_mode", "users[].max_user_connections", "users[].consistency",
                "max_message_size", "startup_timeout", "shutdown_timeout", "event_loop_threads", "admin.users",
                "routing.consistency", "routing.max_replica_lag", "routing.max_replica_lag_time",
                "routing.on_no_replica", "routing.read_only_functions", "routing.write_functions",
                "routing.read_only_function_list", "routing.write_function_list", "routing.function_refresh_period",
                "health_check.period", "health_check.timeout", "health_check.max_retries", "health_check.lsn_period",
                "monitor.user", "monitor.password", "monitor.database", "failover.enabled", "failover.grace_period",
                "failover.max_lag", "failover.follow_primary", "failover.wait_timeout", "hooks.on_failover",
                "hooks.on_node_down", "hooks.timeout", "log.level", "log.format", "admin.listen", "admin.token"),
                ConfigLoader.knownKeys());
        for (String key : ConfigLoader.overridableKeys()) {
            if (!ConfigLoader.knownKeys().contains(key)) {
                fail(key + " is overridable but not known");
            }
        }
        assertEquals("PGRELAY_POOL_SERVER_RESET_QUERY", ConfigLoader.environmentVariable("pool.server_reset_query"));
    }
}
