package io.pgrelay.it.pooling;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.support.RelayHarness;
import io.pgrelay.it.tools.Pgbench;
import io.pgrelay.it.tools.ToolRunner.Result;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** pgbench through a transaction-mode pool: far more clients than server connections. */
class TransactionPgbenchIT {
    private static final int POOL_SIZE = 20;
    private static RelayHarness h;

    @BeforeAll
    static void start() throws Exception {
        h = RelayHarness.start(Map.of("pool.mode", "transaction", "pool.size", String.valueOf(POOL_SIZE)));
        Pgbench.initialize(h);
    }

    @AfterAll
    static void stop() throws Exception {
        if (h != null) {
            h.close();
        }
    }

    @AfterEach
    void everyServerIsBackInThePool() throws Exception {
        h.assertClientsGoneAndNothingLeased();
    }

    /**
     * TPC-B-like transactions hold their server from BEGIN to END. With {@code -M prepared} pgbench
     * prepares each statement with a blocking PQprepare, which needs a server while other clients
     * of the same pgbench thread hold all of them mid-transaction and wait for that thread: more
     * clients than servers deadlock inside pgbench with any transaction pooler, so that run uses
     * fewer clients than the pool has servers.
     */
    @ParameterizedTest(name = "-M {0} -c {1}")
    @CsvSource({"simple, 40", "extended, 40", "prepared, 16"})
    void tpcbLikeInEachQueryMode(String mode, int clients) throws Exception {
        Pgbench.assertNoFailures("transaction pool -M " + mode, Pgbench.run(h.port(), Duration.ofSeconds(60),
                "-M", mode, "-c", String.valueOf(clients), "-j", "2", "-T", "4", "-n"));
    }

    @Test
    void selectOnlyWithANewConnectionPerTransaction() throws Exception {
        Pgbench.assertNoFailures("transaction pool -S -C",
                Pgbench.run(h.port(), Duration.ofSeconds(60), "-S", "-C", "-c", "8", "-j", "2", "-T", "3", "-n"));
    }

    /** The bar: 1000 clients, prepared statements, a pool of 20, no failure, never more backends. */
    @Test
    void thousandClientsThroughAPoolOfTwenty() throws Exception {
        AtomicInteger maxBackends = new AtomicInteger();
        AtomicBoolean running = new AtomicBoolean(true);
        ExecutorService watcher = Executors.newSingleThreadExecutor();
        try {
            Future<?> watching = watcher.submit(() -> {
                while (running.get()) {
                    maxBackends.accumulateAndGet(h.backendsOf("app"), Math::max);
                    TimeUnit.MILLISECONDS.sleep(100);
                }
                return null;
            });
            Result r = Pgbench.run(h.port(), Duration.ofSeconds(120),
                    "-c", "1000", "-j", "2", "-M", "prepared", "-S", "-T", "20", "-n");
            running.set(false);
            watching.get(10, TimeUnit.SECONDS);
            Pgbench.assertNoFailures("1000 clients, pool 20, -M prepared -S", r);
            System.out.println("most backends of app seen during the run: " + maxBackends.get());
            assertTrue(maxBackends.get() <= POOL_SIZE, "PostgreSQL saw " + maxBackends.get() + " backends");
            assertTrue(maxBackends.get() > 0, "the watcher saw the run");
        } finally {
            running.set(false);
            watcher.shutdownNow();
        }
    }
}
