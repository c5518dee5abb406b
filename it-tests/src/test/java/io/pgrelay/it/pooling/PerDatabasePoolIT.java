package io.pgrelay.it.pooling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.support.RelayHarness;
import io.pgrelay.pool.Pool;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Pool mode and caps per database and per user, from the databases and users lists. */
class PerDatabasePoolIT {
    private static RelayHarness h;

    @BeforeAll
    static void start() throws Exception {
        h = RelayHarness.start(Map.of(), """
                pool: {mode: transaction, size: 5}
                databases:
                  - {name: app, max_db_connections: 2}
                users:
                  - {name: scram_app, pool_mode: session}
                """);
    }

    @AfterAll
    static void stop() throws Exception {
        if (h != null) {
            h.close();
        }
    }

    /** max_db_connections holds the database to 2 backends while 6 clients run transactions; none fails. */
    @Test
    void aDatabaseCapLimitsBackendsAcrossClients() throws Exception {
        AtomicInteger most = new AtomicInteger();
        AtomicBoolean running = new AtomicBoolean(true);
        ExecutorService pool = Executors.newFixedThreadPool(7);
        try {
            Future<?> watcher = pool.submit(() -> {
                while (running.get()) {
                    most.accumulateAndGet(h.backendsOf("app"), Math::max);
                    TimeUnit.MILLISECONDS.sleep(20);
                }
                return null;
            });
            List<Future<Integer>> clients = new ArrayList<>();
            for (int c = 0; c < 6; c++) {
                clients.add(pool.submit(() -> {
                    int done = 0;
                    try (Connection x = h.connect()) {
                        x.setAutoCommit(false);
                        for (int i = 0; i < 20; i++) {
                            try (Statement st = x.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_sleep(0.005), 1")) {
                                rs.next();
                                done += rs.getInt(2);
                            }
                            x.commit();
                        }
                    }
                    return done;
                }));
            }
            for (Future<Integer> f : clients) {
                assertEquals(20, f.get(60, TimeUnit.SECONDS));
            }
            running.set(false);
            watcher.get(10, TimeUnit.SECONDS);
            assertTrue(most.get() <= 2, "app had " + most.get() + " backends");
            assertTrue(most.get() > 0, "the watcher saw backends");
        } finally {
            running.set(false);
            pool.shutdownNow();
        }
    }

    /** scram_app is pooled per session although the default is transaction; app is pooled per transaction. */
    @Test
    void aUserCanHaveItsOwnPoolMode() throws Exception {
        try (Connection s = h.connect("scram_app", RelayHarness.SCRAM_PASSWORD, "scram_app", new Properties());
             Connection t = h.connect(); Statement ss = s.createStatement(); Statement ts = t.createStatement()) {
            ss.execute("SELECT 1");
            ts.execute("SELECT 1");
            Thread.sleep(200);
            assertEquals(1, leased("scram_app"), "a session-pooled client keeps its server while idle");
            assertEquals(0, leased("app"), "a transaction-pooled client gives its server back");
            assertTrue(pool("scram_app").stream().noneMatch(p -> p.settings().transactionPooling()));
            assertTrue(pool("app").stream().allMatch(p -> p.settings().transactionPooling()));
        }
    }

    private static List<Pool> pool(String user) {
        return h.relay().services().pools().all().stream().filter(p -> p.key().user().equals(user)).toList();
    }

    private static int leased(String user) {
        return pool(user).stream().mapToInt(Pool::active).sum();
    }
}
