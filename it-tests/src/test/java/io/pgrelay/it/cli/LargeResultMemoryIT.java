package io.pgrelay.it.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.fixture.PgCluster;
import io.pgrelay.it.fixture.PgClusterSpec;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.PGConnection;

/**
 * pgrelay's memory stays flat while a large result passes through it: the jar runs as a child
 * process with the launcher's default JVM options, and its resident set size is sampled from
 * {@code /proc/<pid>/status} while about 1 GB (COPY) or 500 MB (cursor fetches) flows to the
 * client. A proxy that buffers instead of applying back-pressure grows with the result.
 * MB here are 2^20 bytes, as in PostgreSQL and /proc's kB.
 */
class LargeResultMemoryIT {
    /** bin/pgrelay's default PGRELAY_OPTS. */
    private static final List<String> JVM = List.of("-XX:+UseSerialGC");
    private static final long PEAK_RSS_LIMIT_MB = 300;
    private static final long MB = 1024 * 1024;
    private static final String PASSWORD = "bulk-secret";

    @TempDir
    static Path dir;

    private static PgCluster pg;
    private static Path usersFile;

    @BeforeAll
    @Timeout(value = 30, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    static void startPostgres() throws IOException {
        RelayProcess.jar();
        pg = PgCluster.start(PgClusterSpec.defaults());
        pg.createUser("bulk", PASSWORD);
        pg.createDatabase("bulk", "bulk");
        usersFile = dir.resolve("users.txt");
        Files.writeString(usersFile, "bulk: " + PASSWORD + "\n");
    }

    @AfterAll
    static void stopPostgres() {
        if (pg != null) {
            pg.close();
        }
    }

    @Test
    @Timeout(value = 40, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void copyOutOfOneGigabyteKeepsRssFlat() throws Exception {
        try (RelayProcess relay = serve(); RssSampler rss = new RssSampler(relay.pid());
             Connection c = connect(relay)) {
            CountingOutputStream out = new CountingOutputStream();
            long t0 = System.nanoTime();
            long copied = c.unwrap(PGConnection.class).getCopyAPI().copyOut(
                    "COPY (SELECT repeat('x', 1000) FROM generate_series(1, 1000000)) TO STDOUT", out);
            double seconds = (System.nanoTime() - t0) / 1e9;
            long hwmKb = rss.stop();

            assertEquals(1_000_000, copied, "rows copied");
            assertTrue(out.count() >= 1_000_000_000L, () -> "only " + out.count() + " bytes arrived");
            report("1 GB COPY", rss, hwmKb, out.count(), seconds);
            assertRssBelowLimit(relay, rss, hwmKb);
        }
    }

    @Test
    @Timeout(value = 40, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
    void cursorFetchOfHalfAGigabyteKeepsRssFlat() throws Exception {
        try (RelayProcess relay = serve(); RssSampler rss = new RssSampler(relay.pid());
             Connection c = connect(relay)) {
            c.setAutoCommit(false);
            long bytes = 0;
            long rows = 0;
            long t0 = System.nanoTime();
            try (Statement st = c.createStatement()) {
                st.setFetchSize(1000);
                try (ResultSet rs = st.executeQuery("SELECT repeat('x', 1000) FROM generate_series(1, 500000)")) {
                    while (rs.next() && rows < 1_000_000) {
                        bytes += rs.getString(1).length();
                        rows++;
                    }
                }
            }
            c.commit();
            double seconds = (System.nanoTime() - t0) / 1e9;
            long hwmKb = rss.stop();

            assertEquals(500_000, rows, "rows fetched");
            assertTrue(bytes >= 500_000_000L, "only " + bytes + " bytes arrived");
            report("500 MB fetch-size query", rss, hwmKb, bytes, seconds);
            assertRssBelowLimit(relay, rss, hwmKb);
        }
    }

    private static RelayProcess serve() throws IOException, InterruptedException {
        return RelayProcess.serve(JVM, Map.of("PGRELAY_AUTH_USERS_FILE", usersFile.toString()),
                List.of("--primary", "127.0.0.1:" + pg.primary().port()));
    }

    private static Connection connect(RelayProcess relay) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "bulk");
        p.setProperty("password", PASSWORD);
        p.setProperty("connectTimeout", "10");
        p.setProperty("socketTimeout", "35");
        p.setProperty("sslmode", "disable");
        p.setProperty("gssEncMode", "disable");
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + relay.port() + "/bulk", p);
    }

    private static void report(String what, RssSampler rss, long hwmKb, long bytes, double seconds) {
        System.out.printf("pgrelay peak RSS during %s: %d MB (VmHWM %d MB); %d samples; %.1f MB/s (%d bytes in %.1f s)%n",
                what, rss.maxKb() / 1024, hwmKb / 1024, rss.samples(), bytes / (double) MB / seconds, bytes, seconds);
    }

    private static void assertRssBelowLimit(RelayProcess relay, RssSampler rss, long hwmKb) {
        assertTrue(rss.samples() >= 3, () -> "too few RSS samples (" + rss.samples() + ") to say anything");
        assertTrue(rss.maxKb() / 1024 < PEAK_RSS_LIMIT_MB, () -> "pgrelay's RSS reached " + rss.maxKb() / 1024
                + " MB, limit " + PEAK_RSS_LIMIT_MB + " MB" + relay.describe());
        assertTrue(hwmKb / 1024 < PEAK_RSS_LIMIT_MB, () -> "pgrelay's VmHWM reached " + hwmKb / 1024
                + " MB, limit " + PEAK_RSS_LIMIT_MB + " MB" + relay.describe());
        assertFalse(relay.stderr().contains("LEAK:"), relay::describe);
    }

    /** Reads a process's VmRSS every 200 ms; {@link #stop()} ends sampling and returns VmHWM. */
    private static final class RssSampler implements AutoCloseable {
        private final Path status;
        private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
                r -> Thread.ofPlatform().daemon().name("rss-sampler").unstarted(r));
        private final AtomicLong maxKb = new AtomicLong();
        private final AtomicInteger samples = new AtomicInteger();

        RssSampler(long pid) throws IOException {
            status = Path.of("/proc", Long.toString(pid), "status");
            readKb("VmRSS");
            timer.scheduleAtFixedRate(this::sample, 0, 200, TimeUnit.MILLISECONDS);
        }

        private void sample() {
            try {
                long kb = readKb("VmRSS");
                maxKb.accumulateAndGet(kb, Math::max);
                samples.incrementAndGet();
            } catch (IOException e) {
                // The process is gone; the test notices that by itself.
                timer.shutdown();
            }
        }

        private long readKb(String field) throws IOException {
            for (String line : Files.readAllLines(status)) {
                if (line.startsWith(field + ":")) {
                    return Long.parseLong(line.substring(field.length() + 1).replace("kB", "").strip());
                }
            }
            throw new IOException(field + " not in " + status);
        }

        long stop() throws IOException, InterruptedException {
            timer.shutdown();
            timer.awaitTermination(5, TimeUnit.SECONDS);
            sample();
            return readKb("VmHWM");
        }

        long maxKb() {
            return maxKb.get();
        }

        int samples() {
            return samples.get();
        }

        @Override
        public void close() {
            timer.shutdownNow();
        }
    }

    /** Counts what it is given and keeps nothing. */
    private static final class CountingOutputStream extends OutputStream {
        private long count;

        @Override
        public void write(int b) {
            count++;
        }

        @Override
        public void write(byte[] b, int off, int len) {
            count += len;
        }

        long count() {
            return count;
        }
    }
}
