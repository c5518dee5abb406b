package io.pgrelay.it.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.fixture.PgCluster;
import io.pgrelay.it.support.RelayHarness;
import io.pgrelay.it.tools.ToolRunner.Result;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Runs pgbench as the harness's {@code app} user and reads its summary. */
public final class Pgbench {
    private static final Pattern FAILED = Pattern.compile("number of failed transactions: (\\d+)");
    private static final Pattern PROCESSED = Pattern.compile("number of transactions actually processed: (\\d+)");
    private static final Pattern TPS = Pattern.compile("tps = ([0-9.]+)");

    private Pgbench() {
    }

    /** {@code pgbench -i -s 1} straight on the primary. */
    public static void initialize(RelayHarness h) throws Exception {
        Result init = run(h.cluster().primary().port(), Duration.ofSeconds(60), "-i", "-s", "1", "-q");
        assertEquals(0, init.exitCode(), init.toString());
    }

    /** pgbench against {@code port} with {@code args}, bounded by {@code timeout}. */
    public static Result run(int port, Duration timeout, String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of("-h", "127.0.0.1", "-p", String.valueOf(port), "-U", "app"));
        all.addAll(List.of(args));
        all.add("app");
        return ToolRunner.run(PgCluster.pgbenchPath(), all, Map.of("PGPASSWORD", RelayHarness.APP_PASSWORD), timeout);
    }

    /** Asserts a clean run: exit 0, no failed or aborted transactions, some processed; prints the summary. */
    public static void assertNoFailures(String label, Result r) {
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
}
