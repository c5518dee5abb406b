package io.pgrelay.it.pooling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.support.RelayHarness;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Transaction pooling against a real primary: clients share a few server connections. */
class TransactionPoolingIT {
    private static final int POOL_SIZE = 2;
    private static RelayHarness h;

    @BeforeAll
    static void start() throws Exception {
        h = RelayHarness.start(Map.of("pool.mode", "transaction", "pool.size", String.valueOf(POOL_SIZE),
                "pool.max_prepared_statements", "3"));
        try (Connection c = h.cluster().primary().connect("app"); Statement st = c.createStatement()) {
            st.execute("CREATE SCHEMA s1 AUTHORIZATION app");
            st.execute("CREATE TABLE s1.marker (v text)");
            st.execute("INSERT INTO s1.marker VALUES ('in s1')");
            st.execute("GRANT USAGE ON SCHEMA s1 TO app");
            st.execute("GRANT SELECT ON s1.marker TO app");
            st.execute("CREATE TABLE public.ledger (id int PRIMARY KEY, who text)");
            st.execute("GRANT ALL ON public.ledger TO app");
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (h != null) {
            h.close();
        }
    }

    private static Connection connect(Properties extra) throws SQLException {
        return h.connect("app", RelayHarness.APP_PASSWORD, "app", extra);
    }

    private static Properties prepared() {
        Properties p = new Properties();
        p.setProperty("prepareThreshold", "1");
        return p;
    }

    /**
     * A client's named prepared statements keep working while its transactions land on different
     * servers: a second client holding a transaction open forces the first onto the other server.
     */
    @Test
    void namedPreparedStatementsFollowTheClientAcrossServers() throws Exception {
        Set<Integer> pids = new HashSet<>();
        try (Connection x = connect(prepared()); Connection y = h.connect();
             PreparedStatement ps = x.prepareStatement("SELECT pg_backend_pid(), ?::int * 2");
             Statement yst = y.createStatement()) {
            for (int i = 0; i < 200; i++) {
                holdAServerHalfTheTime(y, yst, i);
                ps.setInt(1, i);
                try (ResultSet rs = ps.executeQuery()) {
                    assertTrue(rs.next());
                    pids.add(rs.getInt(1));
                    assertEquals(i * 2, rs.getInt(2));
                }
            }
        }
        assertEquals(2, pids.size(), "the statement ran on both servers: " + pids);
        assertTrue(h.backendsOf("app") <= POOL_SIZE);
    }

    /** Step {@code i} of a loop: another client opens a transaction (taking a server) or ends it, in turn. */
    private static void holdAServerHalfTheTime(Connection y, Statement yst, int i) throws SQLException {
        if (i % 4 == 1) {
            y.setAutoCommit(false);
            yst.execute("SELECT 1");
        } else if (i % 4 == 3) {
            y.commit();
            y.setAutoCommit(true);
        }
    }

    /** More statements than max_prepared_statements: the least recently used are closed and re-prepared. */
    @Test
    void statementsBeyondTheServerCapAreEvictedAndPreparedAgain() throws Exception {
        try (Connection x = connect(prepared())) {
            List<PreparedStatement> statements = new ArrayList<>();
            for (int n = 0; n < 6; n++) {
                statements.add(x.prepareStatement("SELECT " + n + " + ?::int"));
            }
            for (int round = 0; round < 5; round++) {
                for (int n = 0; n < statements.size(); n++) {
                    PreparedStatement ps = statements.get(n);
                    ps.setInt(1, round);
                    try (ResultSet rs = ps.executeQuery()) {
                        assertTrue(rs.next());
                        assertEquals(n + round, rs.getInt(1));
                    }
                }
            }
            for (PreparedStatement ps : statements) {
                ps.close();
            }
        }
        try (Connection c = h.direct(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE usename = 'app'")) {
            rs.next();
            assertTrue(rs.getInt(1) <= POOL_SIZE);
        }
    }

    /** Each client sees its own startup settings whichever server runs its transaction. */
    @Test
    void startupSettingsTravelWithTheClient() throws Exception {
        Properties inS1 = new Properties();
        inS1.setProperty("currentSchema", "s1");
        inS1.setProperty("ApplicationName", "client-s1");
        Properties plain = new Properties();
        plain.setProperty("ApplicationName", "client-plain");
        try (Connection a = connect(inS1); Connection b = connect(plain);
             Statement as = a.createStatement(); Statement bs = b.createStatement()) {
            for (int i = 0; i < 20; i++) {
                try (ResultSet rs = as.executeQuery("SELECT current_schema(), current_setting('application_name'), v FROM marker")) {
                    assertTrue(rs.next());
                    assertEquals("s1", rs.getString(1));
                    assertEquals("client-s1", rs.getString(2));
                    assertEquals("in s1", rs.getString(3));
                }
                try (ResultSet rs = bs.executeQuery("SELECT current_schema(), current_setting('application_name')")) {
                    assertTrue(rs.next());
                    assertEquals("public", rs.getString(1));
                    assertEquals("client-plain", rs.getString(2));
                }
            }
        }
    }

    /** A failing statement in a named-statement batch fails alone; the next batch runs normally. */
    @Test
    void errorsInsideAPreparedBatchLeaveTheSessionUsable() throws Exception {
        try (Connection x = connect(prepared()); Statement st = x.createStatement()) {
            st.execute("DELETE FROM ledger WHERE id >= 1000");
            x.setAutoCommit(false);
            try (PreparedStatement ins = x.prepareStatement("INSERT INTO ledger VALUES (?, 'batch')")) {
                for (int id : new int[] {1000, 1001, 1001, 1002}) {
                    ins.setInt(1, id);
                    ins.addBatch();
                }
                assertThrows(SQLException.class, ins::executeBatch);
                x.rollback();
                ins.clearBatch();
                for (int id : new int[] {1000, 1001, 1002}) {
                    ins.setInt(1, id);
                    ins.addBatch();
                }
                ins.executeBatch();
                x.commit();
            }
            x.setAutoCommit(true);
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM ledger WHERE id >= 1000")) {
                rs.next();
                assertEquals(3, rs.getInt(1));
            }
        }
    }

    /** Many clients, few servers: every transaction succeeds and PostgreSQL never sees more than the pool. */
    @Test
    void manyClientsShareThePoolWithoutErrors() throws Exception {
        int clients = 16;
        AtomicInteger maxBackends = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(clients + 1);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int c = 0; c < clients; c++) {
                int client = c;
                results.add(pool.submit(() -> {
                    int done = 0;
                    try (Connection x = connect(prepared());
                         PreparedStatement ps = x.prepareStatement("SELECT ?::int + 1")) {
                        for (int i = 0; i < 50; i++) {
                            ps.setInt(1, client * 1000 + i);
                            try (ResultSet rs = ps.executeQuery()) {
                                rs.next();
                                assertEquals(client * 1000 + i + 1, rs.getInt(1));
                                done++;
                            }
                        }
                    }
                    return done;
                }));
            }
            Future<?> watcher = pool.submit(() -> {
                while (!results.stream().allMatch(Future::isDone)) {
                    maxBackends.accumulateAndGet(h.backendsOf("app"), Math::max);
                    TimeUnit.MILLISECONDS.sleep(20);
                }
                return null;
            });
            int total = 0;
            for (Future<Integer> f : results) {
                total += f.get(60, TimeUnit.SECONDS);
            }
            watcher.get(10, TimeUnit.SECONDS);
            assertEquals(clients * 50, total);
            assertTrue(maxBackends.get() <= POOL_SIZE, "backends seen: " + maxBackends.get());
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * The bar: prepared statements over 200 transactions that the pool spreads over its
     * servers, with a search_path set once in force in every one of them.
     */
    @Test
    void setOnceStaysInForceOnEveryServer() throws Exception {
        Set<Integer> pids = new HashSet<>();
        try (Connection x = connect(prepared()); Connection y = h.connect(); Statement yst = y.createStatement()) {
            try (Statement st = x.createStatement()) {
                st.execute("SET search_path TO s1");
            }
            try (PreparedStatement ps = x.prepareStatement("SELECT pg_backend_pid(), current_schema(), v, ?::int FROM marker")) {
                for (int i = 0; i < 200; i++) {
                    holdAServerHalfTheTime(y, yst, i);
                    ps.setInt(1, i);
                    try (ResultSet rs = ps.executeQuery()) {
                        assertTrue(rs.next());
                        pids.add(rs.getInt(1));
                        assertEquals("s1", rs.getString(2));
                        assertEquals("in s1", rs.getString(3));
                        assertEquals(i, rs.getInt(4));
                    }
                }
            }
        }
        assertEquals(2, pids.size(), "the transactions ran on both servers: " + pids);
    }

    /** SET is transactional: one inside a rolled-back transaction is not carried to the next server. */
    @Test
    void setInARolledBackTransactionIsForgotten() throws Exception {
        try (Connection x = h.connect(); Connection y = h.connect(); Statement st = x.createStatement();
             Statement yst = y.createStatement()) {
            x.setAutoCommit(false);
            st.execute("SET search_path TO s1");
            x.rollback();
            x.setAutoCommit(true);
            for (int i = 0; i < 10; i++) {
                y.setAutoCommit(i % 2 == 0);
                yst.execute("SELECT 1");
                try (ResultSet rs = st.executeQuery("SELECT current_schema()")) {
                    rs.next();
                    assertEquals("public", rs.getString(1));
                }
                if (i % 2 == 1) {
                    y.commit();
                }
            }
        }
    }

    /** A temporary table cannot travel: its client keeps its server, and the others share the rest. */
    @Test
    void temporaryTablePinsTheClientToItsServer() throws Exception {
        try (Connection x = h.connect(); Connection y = h.connect(); Statement st = x.createStatement();
             Statement yst = y.createStatement()) {
            st.execute("CREATE TEMP TABLE scratch (n int)");
            Set<Integer> pids = new HashSet<>();
            for (int i = 0; i < 20; i++) {
                st.execute("INSERT INTO scratch VALUES (" + i + ")");
                try (ResultSet rs = st.executeQuery("SELECT pg_backend_pid(), count(*) FROM scratch")) {
                    rs.next();
                    pids.add(rs.getInt(1));
                    assertEquals(i + 1, rs.getInt(2));
                }
                try (ResultSet rs = yst.executeQuery("SELECT 1")) {
                    assertTrue(rs.next());
                }
            }
            assertEquals(1, pids.size(), "pinned to one server: " + pids);
        }
        // Its server went back through DISCARD ALL: no other client finds the temporary table in its
        // own session (pg_tables would also list it while x's server is still being reset).
        try (Connection z = h.connect(); Statement st = z.createStatement()) {
            for (int i = 0; i < 4; i++) {
                try (ResultSet rs = st.executeQuery("SELECT count(*) FROM pg_class WHERE relname = 'scratch' "
                        + "AND relnamespace = pg_my_temp_schema()")) {
                    rs.next();
                    assertEquals(0, rs.getInt(1));
                }
            }
        }
    }
}
