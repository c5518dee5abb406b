package io.pgrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ClassifyCommandTest {
    private record Run(int exit, String out) {
    }

    private static Run classify(String... args) {
        StringWriter out = new StringWriter();
        CommandLine cli = PgRelayCli.commandLine();
        cli.setOut(new PrintWriter(out));
        String[] full = new String[args.length + 1];
        full[0] = "classify";
        System.arraycopy(args, 0, full, 1, args.length);
        return new Run(cli.execute(full), out.toString());
    }

    @Test
    void printsDecisionReasonAndFingerprint() {
        Run read = classify("SELECT abalance FROM pgbench_accounts WHERE aid = 17");
        assertEquals(0, read.exit());
        String[] lines = read.out().split("\n");
        assertEquals("REPLICA READ_ONLY_SELECT", lines[0]);
        assertTrue(lines[1].matches("fingerprint [0-9a-f]{32}"), lines[1]);
        assertEquals(lines[1], classify("select abalance from pgbench_accounts where aid=18").out().split("\n")[1]);

        assertEquals("PRIMARY SEQUENCE_FUNCTION (nextval)", classify("SELECT nextval('s')").out().split("\n")[0]);
    }

    @Test
    void functionListsAndSessionEffectsAreShown() {
        assertEquals("PRIMARY UNKNOWN_FUNCTION (app.f)", classify("SELECT app.f()").out().split("\n")[0]);
        assertEquals("REPLICA READ_ONLY_SELECT",
                classify("--allow-function", "app.*", "SELECT app.f()").out().split("\n")[0]);
        Run set = classify("SET search_path TO app");
        assertTrue(set.out().contains("session effect SetParameter[name=search_path, value=app]"), set.out());
    }

    @Test
    void theConfigurationsFunctionListsApply(@TempDir Path dir) throws IOException {
        Path config = Files.writeString(dir.resolve("pgrelay.yaml"), """
                primary: 127.0.0.1:5432
                routing:
                  read_only_function_list: 'app.report_*'
                  write_functions: [Lower]
                """);
        assertEquals("REPLICA READ_ONLY_SELECT",
                classify("--config", config.toString(), "SELECT app.report_daily()").out().split("\n")[0]);
        assertEquals("PRIMARY UNSAFE_FUNCTION (lower)",
                classify("--config", config.toString(), "SELECT LOWER('A')").out().split("\n")[0]);
        Path bad = Files.writeString(dir.resolve("bad.yaml"), "primary: 127.0.0.1:5432\nrouting:\n  on_no_replica: x\n");
        assertEquals(PgRelayCli.EXIT_CONFIG, classify("--config", bad.toString(), "SELECT 1").exit());
    }

    @Test
    void jsonHasTheSameFacts() {
        Run run = classify("--json", "/* pgrelay: primary */ SELECT \"a\"");
        assertEquals(0, run.exit());
        assertTrue(run.out().startsWith("{\"decision\":\"PRIMARY\",\"reason\":\"HINT_PRIMARY\",\"detail\":\"\","
                + "\"fingerprint\":\""), run.out());
        assertTrue(run.out().endsWith("\"statements\":1,\"effects\":[],\"refined\":false}\n"), run.out());
    }

    @Test
    void jsqlparserOverrulesTheLexersGuessInTheForeground() {
        Run run = classify("SELECT * FROM t x(a, b)");
        assertTrue(run.out().startsWith("REPLICA READ_ONLY_SELECT"), run.out());
        assertTrue(run.out().contains("lexer said PRIMARY UNKNOWN_FUNCTION (x)"), run.out());
    }
}
