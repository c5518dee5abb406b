package io.pgrelay.it.pooling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.support.RelayHarness;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Warm, reserve, idle, recycled and capped connections of a transaction pool, against a real primary. */
class PoolLifecycleIT {
    private static RelayHarness h;

    @BeforeAll
    static void start() throws Exception {
        h = RelayHarness.start(Map.of("pool.mode", "transaction", "pool.size", "3", "pool.min_pool_size", "2",
                "pool.reserve_pool_size", "1", "pool.reserve_pool_timeout", "300ms", "pool.server_idle_timeout", "2s",
                "pool.server_lifetime", "4s", "pool.server_check_delay", "1s", "pool.max_client_conn", "6"));
        try (Connection c = h.connect(); Statement st = c.createStatement()) {
            st.execute("SELECT 1");
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (h != null) {
            h.close();
        }
    }

    private static Set<Integer> appBackends() throws SQLException {
        Set<Integer> pids = new HashSet<>();
        try (Connection c = h.direct(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pid FROM pg_stat_activity WHERE usename = 'app'")) {
            while (rs.next()) {
                pids.add(rs.getInt(1));
            }
        }
        return pids;
    }

    private static void await(String what, long millis, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + millis * 1_000_000;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + millis + "ms: " + what);
            }
            Thread.sleep(50);
        }
    }

    private static int backendCount() {
        try {
            return appBackends().size();
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** min_pool_size connections stay open past the idle timeout, and are replaced once past their lifetime. */
    @Test
    void warmConnectionsStayAndAreRecycled() throws Exception {
        await("min_pool_size connections open", 5000, () -> backendCount() == 2);
        Set<Integer> first = appBackends();
        Thread.sleep(2500);
        assertEquals(2, backendCount(), "the idle timeout keeps min_pool_size");
        await("connections past server_lifetime replaced", 8000, () -> {
            try {
                Set<Integer> now = appBackends();
                return now.size() == 2 && now.stream().noneMatch(first::contains);
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    /** With every connection in a transaction, a client that waited reserve_pool_timeout gets a reserve one. */
    @Test
    void theReserveServesAClientThatWaited() throws Exception {
        List<Connection> holders = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                Connection c = h.connect();
                c.setAutoCommit(false);
                try (Statement st = c.createStatement()) {
                    st.execute("SELECT 1");
                }
                holders.add(c);
            }
            long started = System.nanoTime();
            try (Connection late = h.connect(); Statement st = late.createStatement();
                 ResultSet rs = st.executeQuery("SELECT 42")) {
                assertTrue(rs.next());
                assertEquals(42, rs.getInt(1));
            }
            long waitedMillis = (System.nanoTime() - started) / 1_000_000;
            assertTrue(waitedMillis >= 250, "served only after reserve_pool_timeout, waited " + waitedMillis + "ms");
            assertTrue(backendCount() <= 4, "pool.size + reserve_pool_size at most");
        } finally {
            for (Connection c : holders) {
                c.rollback();
                c.close();
            }
        }
    }

    /** Beyond max_client_conn a client gets 53300 naming the limit. */
    @Test
    void clientsBeyondMaxClientConnAreRefused() throws Exception {
        List<Connection> clients = new ArrayList<>();
        try {
            for (int i = 0; i < 6; i++) {
                clients.add(h.connect());
            }
            SQLException e = assertThrows(SQLException.class, h::connect);
            assertEquals("53300", e.getSQLState());
            assertTrue(e.getMessage().contains("max_client_conn 6"), e.getMessage());
        } finally {
            for (Connection c : clients) {
                c.close();
            }
        }
    }

    /** A pooled connection whose backend was terminated is dropped; the next client does not notice. */
    @Test
    void aTerminatedIdleServerIsReplacedWithoutAClientError() throws Exception {
        await("warm connections", 5000, () -> backendCount() >= 2);
        Set<Integer> before = appBackends();
        try (Connection c = h.direct(); Statement st = c.createStatement()) {
            st.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'app'");
        }
        try (Connection c = h.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
            assertTrue(rs.next());
            assertTrue(!before.contains(rs.getInt(1)), "served by a new backend");
        }
        assertNotEquals(before, appBackends());
    }
}
