package io.pgrelay.it.routing;

import static io.pgrelay.it.routing.Routed.port;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.pgrelay.it.support.RelayHarness;
import io.pgrelay.router.classify.FunctionSafety;
import io.pgrelay.router.classify.Reason;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Routing settings from the configuration, against a primary and a replica: consistency per user
 * and per database, the operator's function lists, and the periodic pg_proc refresh.
 */
class RoutingConfigIT {
    /** Function safety is read from this database; the function tests log in to it. */
    private static final String FUNCTIONS_DB = "scram_app";
    private static RelayHarness h;
    private static int primaryPort;
    private static int replicaPort;

    @BeforeAll
    static void start() throws Exception {
        h = RelayHarness.start(Map.of("pool.mode", "transaction", "health_check.lsn_period", "20ms",
                        "monitor.database", FUNCTIONS_DB, "routing.function_refresh_period", "500ms"),
                // routing.consistency stays primary (the harness's): only the entries below let reads
                // reach the replica. The lists use pgrelay's name as a YAML list and pgpool's as a string.
                """
                routing:
                  read_only_functions: ['public."RoListed"']
                  write_function_list: 'Public.Stable_Listed, other_fn'
                databases:
                  - {name: app, consistency: eventual}
                  - {name: scram_app, consistency: eventual}
                users:
                  - {name: app, consistency: primary}
                """);
        primaryPort = h.cluster().primary().port();
        replicaPort = h.cluster().replicas().get(0).port();
        try (Connection c = h.cluster().primary().connect(FUNCTIONS_DB); Statement st = c.createStatement()) {
            st.execute("CREATE FUNCTION vol_plain() RETURNS int LANGUAGE sql VOLATILE AS 'SELECT inet_server_port()'");
            st.execute("CREATE FUNCTION \"RoListed\"() RETURNS int LANGUAGE sql VOLATILE"
                    + " AS 'SELECT inet_server_port()'");
            st.execute("CREATE FUNCTION stable_plain() RETURNS int LANGUAGE sql STABLE AS 'SELECT inet_server_port()'");
            st.execute("CREATE FUNCTION stable_listed() RETURNS int LANGUAGE sql STABLE"
                    + " AS 'SELECT inet_server_port()'");
        }
        h.cluster().awaitReplicasCaughtUp(Duration.ofSeconds(15));
        awaitKnown("public.stable_plain");
        Routed.awaitReplica(h, n -> true, "in rotation");
    }

    @AfterAll
    static void stop() throws Exception {
        if (h != null) {
            h.close();
        }
    }

    private static Connection scramApp() throws SQLException {
        return h.connect("scram_app", RelayHarness.SCRAM_PASSWORD, FUNCTIONS_DB, new Properties());
    }

    /** Waits until a refresh of pg_proc has brought {@code function} in: it is no longer unknown. */
    private static void awaitKnown(String function) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (functions().check(function) == Reason.UNKNOWN_FUNCTION && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertNotEquals(Reason.UNKNOWN_FUNCTION, functions().check(function),
                function + ": pg_proc was not re-read within 10 s");
    }

    private static FunctionSafety functions() {
        return h.relay().services().router().classifier().functionSafety();
    }

    @Test
    void aUsersConsistencyBeatsItsDatabasesWhichBeatsTheDefault() throws Exception {
        try (Connection app = h.connect(); Statement st = app.createStatement()) {
            for (int i = 0; i < 10; i++) {
                assertEquals(primaryPort, port(st, "SELECT inet_server_port()"),
                        "read " + i + " of app (users[app].consistency primary beats databases[app] eventual)");
            }
        }
        try (Connection other = scramApp(); Statement st = other.createStatement()) {
            for (int i = 0; i < 10; i++) {
                assertEquals(replicaPort, port(st, "SELECT inet_server_port()"),
                        "read " + i + " of scram_app (databases[scram_app] eventual beats routing.consistency primary)");
            }
        }
    }

    @Test
    void configuredFunctionListsOverrideVolatility() throws Exception {
        try (Connection c = scramApp(); Statement st = c.createStatement()) {
            assertEquals(primaryPort, port(st, "SELECT vol_plain()"), "an unlisted VOLATILE function");
            assertEquals(replicaPort, port(st, "SELECT public.\"RoListed\"()"), "listed in read_only_functions");
            assertEquals(replicaPort, port(st, "SELECT stable_plain()"), "an unlisted STABLE function");
            assertEquals(primaryPort, port(st, "SELECT stable_listed()"),
                    "listed (schema-qualified, mixed case unquoted) in write_function_list");
            assertEquals(primaryPort, port(st, "SELECT \"RoListed\"()"),
                    "unqualified: the search_path might find another RoListed, so the listed one is not assumed");
        }
    }

    @Test
    void aFunctionCreatedAfterStartIsKnownAfterARefresh() throws Exception {
        assertEquals(Reason.UNKNOWN_FUNCTION, functions().check("created_later"));
        try (Connection c = h.cluster().primary().connect(FUNCTIONS_DB); Statement st = c.createStatement()) {
            st.execute("CREATE FUNCTION created_later() RETURNS int LANGUAGE sql STABLE AS 'SELECT inet_server_port()'");
        }
        h.cluster().awaitReplicasCaughtUp(Duration.ofSeconds(15));
        awaitKnown("created_later");
        try (Connection c = scramApp(); Statement st = c.createStatement()) {
            assertEquals(replicaPort, port(st, "SELECT created_later()"), "a STABLE function known from the refresh");
        }
    }
}
