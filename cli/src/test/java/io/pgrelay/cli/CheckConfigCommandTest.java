package io.pgrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckConfigCommandTest {
    private record Run(int exit, String out, String err) {
    }

    private static Run check(Path file) {
        PrintStream stdout = System.out;
        PrintStream stderr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int exit = PgRelayCli.commandLine().execute("check-config", file.toString());
            return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(stdout);
            System.setErr(stderr);
        }
    }

    @Test
    void acceptsEveryRoutingKeyAndSummarizesThem(@TempDir Path dir) throws IOException {
        Run r = check(Files.writeString(dir.resolve("routing.yaml"), """
                primary: 127.0.0.1:5432
                routing:
                  consistency: eventual
                  max_replica_lag: 16MB
                  max_replica_lag_time: 5s
                  on_no_replica: error
                  read_only_functions: [my_report, "reports.*"]
                  write_function_list: 'audit_touch,public."Bump"'
                  function_refresh_period: 0
                databases:
                  - {name: app, consistency: session}
                users:
                  - {name: batch, consistency: primary}
                """));
        assertEquals(0, r.exit(), r::toString);
        assertTrue(r.out().contains("routing consistency eventual (2 per database or user), 2 read-only and 2 write "
                + "function name(s), on_no_replica error"), r::toString);
    }

    @Test
    void namesTheKeyOfABadRoutingValue(@TempDir Path dir) throws IOException {
        Run r = check(Files.writeString(dir.resolve("bad.yaml"), """
                primary: 127.0.0.1:5432
                routing:
                  read_only_functions: "f(x)"
                """));
        assertEquals(PgRelayCli.EXIT_CONFIG, r.exit(), r::toString);
        assertTrue(r.err().contains("routing.read_only_functions") && r.err().contains("'f(x)' is not a function name"),
                r::toString);
    }
}
