package io.pgrelay.it.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.fixture.PgCluster;
import io.pgrelay.it.support.RelayHarness;
import io.pgrelay.it.tools.ToolRunner.Result;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * pgbench through pgrelay in each query mode, and with a new connection per transaction. The
 * tables are made directly on the primary; the runs are short, for CI time, but concurrent.
 */
class PgbenchIT {
    private static final Pattern FAILED = Pattern.compile("number of failed transactions: (\\d+)");
    private static final Pattern PROCESSED = Pattern.compile("number of transactions actually processed: (\\d+)");
    private static final Pattern TPS = Pattern.compile("tps = ([0-9.]+)");

    private static RelayHarness h;

    @BeforeAll
    static void start() throws Exception {
        h = RelayHarness.start(Map.of());
        Result init = ToolRunner.run(PgCluster.pgbenchPath(),
                List.of("-i", "-s", "1", "-q", "-h", "127.0.0.1", "-p", String.valueOf(h.cluster().primary().port()),
                        "-U", "app", "app"),
                Map.of("PGPASSWORD", RelayHarness.APP_PASSWORD), Duration.ofSeconds(60));
        assertEquals(0, init.exitCode(), init.toString());
    }

    @AfterAll
    static void stop() throws Exception {
        if (h != null) {
            h.close();
        }
    }

    @AfterEach
    void allSessionsEndAndNothingStaysLeased() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (!h.relay().services().clients().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertTrue(h.relay().services().clients().isEmpty(), "pgbench's sessions ended in pgrelay");
        try (Connection c = h.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*) FROM pgbench_branches")) {
            rs.next();
            assertEquals(1, rs.getInt(1));
        }
    }

    @ParameterizedTest(name = "-M {0}")
    @ValueSource(strings = {"simple", "extended", "prepared"})
    void tpcbLikeInEachQueryMode(String mode) throws Exception {
        Result r = pgbench("-M", mode, "-c", "8", "-j", "2", "-T", "5", "-n");
        assertNoFailures("-M " + mode, r);
    }

    @Test
    void selectOnlyWithANewConnectionPerTransaction() throws Exception {
        Result r = pgbench("-S", "-C", "-c", "4", "-j", "2", "-T", "3", "-n");
        assertNoFailures("-S -C", r);
    }

    private static void assertNoFailures(String label, Result r) {
        for (String line : r.stdout().split("\n")) {
            if (line.startsWith("tps") || line.startsWith("number of") || line.startsWith("latency average")
                    || line.startsWith("initial connection time") || line.startsWith("average connection time")) {
                System.out.println("pgbench " + label + ": " + line);
            }
        }
        assertEquals(0, r.exitCode(), r.toString());
        Matcher failed = FAILED.matcher(r.stdout());
        if (failed.find()) {
            assertEquals("0", failed.group(1), r.toString());
        }
        assertTrue(!r.stderr().contains("error") && !r.stderr().contains("aborted"), r.toString());
        Matcher processed = PROCESSED.matcher(r.stdout());
        assertTrue(processed.find(), r.toString());
        assertTrue(Long.parseLong(processed.group(1)) > 0, r.toString());
        Matcher tps = TPS.matcher(r.stdout());
        assertTrue(tps.find(), r.toString());
        assertTrue(Double.parseDouble(tps.group(1)) > 0, r.toString());
    }

    private static Result pgbench(String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of("-h", "127.0.0.1", "-p", String.valueOf(h.port()), "-U", "app"));
        all.addAll(List.of(args));
        all.add("app");
        return ToolRunner.run(PgCluster.pgbenchPath(), all, Map.of("PGPASSWORD", RelayHarness.APP_PASSWORD),
                Duration.ofSeconds(60));
    }
}
