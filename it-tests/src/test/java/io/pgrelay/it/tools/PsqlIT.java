package io.pgrelay.it.tools;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.fixture.PgCluster;
import io.pgrelay.it.support.RelayHarness;
import io.pgrelay.it.tools.ToolRunner.Result;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * psql through pgrelay: output, {@code \copy} both ways, errors, notices and multi-statement
 * queries. psql runs with its defaults otherwise, so it also asks for SSL first and gets 'N'.
 */
class PsqlIT {
    private static final Duration TIMEOUT = Duration.ofSeconds(30);

    private static RelayHarness h;

    @TempDir
    Path tmp;

    @BeforeAll
    static void start() throws Exception {
        h = RelayHarness.start(Map.of());
    }

    @AfterAll
    static void stop() throws Exception {
        if (h != null) {
            h.close();
        }
    }

    @AfterEach
    void allSessionsEnd() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (!h.relay().services().clients().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertTrue(h.relay().services().clients().isEmpty(), "psql's sessions ended in pgrelay");
    }

    @Test
    void selectOutput() throws Exception {
        Result r = psql(RelayHarness.APP_PASSWORD, "-At", "-c",
                "select current_user, current_database(), inet_server_port(), 'through pgrelay'");
        assertEquals(0, r.exitCode(), r.toString());
        assertEquals("app|app|" + h.cluster().primary().port() + "|through pgrelay\n", r.stdout(), r.toString());
        Result aligned = psql(RelayHarness.APP_PASSWORD, "-c", "select 42 as answer");
        assertEquals(0, aligned.exitCode(), aligned.toString());
        assertEquals(" answer \n--------\n     42\n(1 row)\n\n", aligned.stdout(), aligned.toString());
    }

    @Test
    void copyFromAFileAndBackToAFile() throws Exception {
        StringBuilder csv = new StringBuilder()
                .append("1,plain,\n")
                .append("2,\"with, comma\",x\n")
                .append("3,\"with \"\"quotes\"\"\",y\n")
                .append("4,\"two\nlines\",z\n")
                .append("5,ünïcødé ✓ 日本,\n")
                .append("6,\"\",empty string above; null in column 3 of row 1\n");
        for (int i = 7; i <= 5000; i++) {
            csv.append(i).append(",row ").append(i).append(",").append(Integer.toHexString(i * 7919)).append('\n');
        }
        Path in = tmp.resolve("in.csv");
        Path out = tmp.resolve("out.csv");
        Files.writeString(in, csv, StandardCharsets.UTF_8);
        Result r = psql(RelayHarness.APP_PASSWORD,
                "-c", "DROP TABLE IF EXISTS psql_copy",
                "-c", "CREATE TABLE psql_copy (id int PRIMARY KEY, label text, extra text)",
                "-c", "\\copy psql_copy from '" + in + "' with (format csv)",
                "-c", "\\copy (select * from psql_copy order by id) to '" + out + "' with (format csv)");
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.stdout().contains("COPY 5000"), r.toString());
        assertEquals(csv.toString(), Files.readString(out, StandardCharsets.UTF_8));
        try (Connection c = h.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT count(*), count(extra), sum(length(label)) FILTER (WHERE id = 5) FROM psql_copy")) {
            rs.next();
            assertEquals(5000, rs.getInt(1));
            assertEquals(4998, rs.getInt(2), "the empty unquoted fields of rows 1 and 5 are NULL");
            assertEquals("ünïcødé ✓ 日本".length(), rs.getInt(3), "UTF-8 survived");
        }
    }

    @Test
    void anErrorFailsPsqlWithTheServersMessage() throws Exception {
        Result r = psql(RelayHarness.APP_PASSWORD, "-c", "select 1/0");
        assertNotEquals(0, r.exitCode(), r.toString());
        assertTrue(r.stderr().contains("division by zero"), r.toString());
        Result after = psql(RelayHarness.APP_PASSWORD, "-At", "-c", "select 'still fine'");
        assertEquals("still fine\n", after.stdout(), after.toString());
    }

    @Test
    void aNoticeReachesPsql() throws Exception {
        Result r = psql(RelayHarness.APP_PASSWORD, "-c", "DO $$ BEGIN RAISE NOTICE 'hello from plpgsql'; END $$");
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.stderr().contains("NOTICE:  hello from plpgsql"), r.toString());
        assertTrue(r.stdout().contains("DO"), r.toString());
    }

    @Test
    void multipleStatementsInOneCommand() throws Exception {
        Result r = psql(RelayHarness.APP_PASSWORD, "-At", "-c", "select 1; select 2");
        assertEquals(0, r.exitCode(), r.toString());
        // psql 15 shows every result of a multi-statement query (SHOW_ALL_RESULTS).
        assertEquals("1\n2\n", r.stdout(), r.toString());
    }

    @Test
    void aScriptWithATransactionAndVariables() throws Exception {
        Path script = tmp.resolve("script.sql");
        Files.writeString(script, String.join("\n",
                "BEGIN;",
                "CREATE TEMP TABLE t (x int);",
                "INSERT INTO t SELECT generate_series(1, 100);",
                "SELECT sum(x) AS total FROM t \\gset",
                "COMMIT;",
                "\\echo total=:total",
                "SELECT current_setting('application_name');",
                ""));
        Result r = psql(RelayHarness.APP_PASSWORD, "-At", "-f", script.toString());
        assertEquals(0, r.exitCode(), r.toString());
        assertTrue(r.stdout().contains("total=5050\n"), r.toString());
        assertTrue(r.stdout().contains("psql\n"), "psql's application_name reached the server: " + r);
    }

    @Test
    void aWrongPasswordIsRefused() throws Exception {
        Result r = psql("wrong-password", "-c", "select 1");
        assertEquals(2, r.exitCode(), r.toString());
        assertTrue(r.stderr().contains("password authentication failed for user \"app\""), r.toString());
    }

    private static Result psql(String password, String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of("-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                "-p", String.valueOf(h.port()), "-U", "app", "-d", "app"));
        all.addAll(List.of(args));
        return ToolRunner.run(PgCluster.psqlPath(), all, Map.of("PGPASSWORD", password), TIMEOUT);
    }
}
