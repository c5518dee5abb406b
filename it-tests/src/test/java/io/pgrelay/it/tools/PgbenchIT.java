package io.pgrelay.it.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.support.RelayHarness;
import io.pgrelay.it.tools.ToolRunner.Result;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
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
    private static RelayHarness h;

    @BeforeAll
    static void start() throws Exception {
        h = RelayHarness.start(Map.of());
        Pgbench.initialize(h);
    }

    @AfterAll
    static void stop() throws Exception {
        if (h != null) {
            h.close();
        }
    }

    @AfterEach
    void allSessionsEndAndNothingStaysLeased() throws Exception {
        h.assertClientsGoneAndNothingLeased();
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
        Pgbench.assertNoFailures("-M " + mode, r);
    }

    @Test
    void selectOnlyWithANewConnectionPerTransaction() throws Exception {
        Result r = pgbench("-S", "-C", "-c", "4", "-j", "2", "-T", "3", "-n");
        Pgbench.assertNoFailures("-S -C", r);
    }

    private static Result pgbench(String... args) throws Exception {
        return Pgbench.run(h.port(), Duration.ofSeconds(60), args);
    }
}
