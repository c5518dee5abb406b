package io.pgrelay.it.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code pgrelay demo} end to end from the jar: it starts a primary and a streaming replica from
 * the local binaries, a read through the printed psql address lands on the replica, a write on the
 * primary, and SIGTERM stops everything: exit 0, no server left running, the temp directory gone.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DemoIT {
    private static final Pattern PSQL = Pattern.compile("psql \"host=127\\.0\\.0\\.1 port=(\\d+) dbname=(\\w+) user=(\\w+)\"");
    private static final Pattern PRIMARY = Pattern.compile("primary +127\\.0\\.0\\.1:(\\d+) +(\\S+)");
    private static final Pattern REPLICA = Pattern.compile("replica +127\\.0\\.0\\.1:(\\d+) +(\\S+)");
    private static final Duration STARTUP = Duration.ofSeconds(150);

    @Test
    void routesAReadToTheReplicaAndAWriteToThePrimaryThenCleansUpOnSigterm() throws Exception {
        Path demoDir = null;
        try (RelayProcess demo = RelayProcess.start(List.of(), Map.of(), List.of("demo", "--duration", "120s"))) {
            String out = awaitStdout(demo, "pgrelay nodes --admin", STARTUP);
            Matcher psql = find(PSQL, out);
            Matcher primary = find(PRIMARY, out);
            Matcher replica = find(REPLICA, out);
            int primaryPort = Integer.parseInt(primary.group(1));
            int replicaPort = Integer.parseInt(replica.group(1));
            assertNotEquals(primaryPort, replicaPort);
            demoDir = Path.of(primary.group(2)).getParent();
            assertEquals(demoDir, Path.of(replica.group(2)).getParent(), out);
            assertTrue(Files.isDirectory(demoDir), demoDir + " should exist while the demo runs");

            Properties props = new Properties();
            props.setProperty("user", psql.group(3));
            props.setProperty("connectTimeout", "10");
            props.setProperty("socketTimeout", "60");
            String url = "jdbc:postgresql://127.0.0.1:" + psql.group(1) + "/" + psql.group(2);
            try (Connection c = DriverManager.getConnection(url, props); Statement s = c.createStatement()) {
                assertEquals(replicaPort, intOf(s, "SELECT inet_server_port()"), "a read through pgrelay");
                s.execute("CREATE TABLE demo_it(id int PRIMARY KEY, note text)");
                assertEquals(primaryPort, intOf(s, "INSERT INTO demo_it VALUES (1, 'routed') RETURNING inet_server_port()"),
                        "a write through pgrelay");
                try (ResultSet rs = s.executeQuery("SELECT note FROM demo_it WHERE id = 1")) {
                    assertTrue(rs.next(), "the row just written is visible to its writer");
                    assertEquals("routed", rs.getString(1));
                }
            }

            demo.sigterm();
            OptionalLong exit = demo.awaitExit(Duration.ofSeconds(60));
            assertTrue(exit.isPresent(), "demo did not exit within 60s of SIGTERM" + demo.describe());
            assertEquals(0, exit.getAsLong(), demo.describe());
            assertTrue(demo.stdout().contains("servers stopped and their directory deleted"), demo.describe());
            assertEquals(List.of(), processesUnder(demoDir), "PostgreSQL processes left from " + demoDir);
            assertFalse(Files.exists(demoDir), demoDir + " should be deleted");
        } finally {
            // When an assertion failed first, the process got SIGKILL and left its servers running.
            cleanUp(demoDir);
        }
    }

    /**
     * A step that fails after the primary is running (here pg_basebackup, replaced by a script that
     * exits 1) stops that primary and deletes the directory: exit 1 with the step named, no orphan.
     */
    @Test
    void aFailedStepStopsWhatAlreadyRuns(@TempDir Path bin) throws Exception {
        Path newest = newestBinDir(Path.of("/usr/lib/postgresql"));
        for (String tool : List.of("initdb", "pg_ctl", "postgres")) {
            Files.createSymbolicLink(bin.resolve(tool), newest.resolve(tool));
        }
        Files.writeString(bin.resolve("pg_basebackup"), "#!/bin/sh\necho 'simulated failure' >&2\nexit 1\n");
        Files.setPosixFilePermissions(bin.resolve("pg_basebackup"), PosixFilePermissions.fromString("rwxr-xr-x"));
        // The servers run as the postgres OS user when the tests run as root: it must reach the tools.
        Files.setPosixFilePermissions(bin, PosixFilePermissions.fromString("rwxr-xr-x"));

        Path demoDir = null;
        try {
            RelayProcess.Result r = RelayProcess.run(Duration.ofSeconds(150), Map.of(),
                    "demo", "--pg-bin", bin.toString(), "--duration", "60s");
            assertEquals(1, r.exit(), r.toString());
            assertTrue(r.stderr().contains("pgrelay demo: pg_basebackup of the replica failed (exit 1)"), r.toString());
            assertTrue(r.stderr().contains("simulated failure"), r.toString());
            Matcher dir = find(Pattern.compile("-D (\\S+)/replica"), r.stderr());
            demoDir = Path.of(dir.group(1));
            assertEquals(List.of(), processesUnder(demoDir), "PostgreSQL processes left from " + demoDir);
            assertFalse(Files.exists(demoDir), demoDir + " should be deleted");
        } finally {
            cleanUp(demoDir);
            // JUnit would warn about links pointing out of its temp dir.
            for (String tool : List.of("initdb", "pg_ctl", "postgres")) {
                Files.deleteIfExists(bin.resolve(tool));
            }
        }
    }

    /** The newest /usr/lib/postgresql/N/bin, where the demo looks by default. */
    private static Path newestBinDir(Path base) throws IOException {
        try (Stream<Path> versions = Files.list(base)) {
            return versions.filter(v -> v.getFileName().toString().matches("\\d+"))
                    .max(Comparator.comparingInt((Path v) -> Integer.parseInt(v.getFileName().toString())))
                    .map(v -> v.resolve("bin"))
                    .orElseThrow(() -> new AssertionError("no PostgreSQL under " + base));
        }
    }

    private static int intOf(Statement s, String sql) throws SQLException {
        try (ResultSet rs = s.executeQuery(sql)) {
            assertTrue(rs.next(), sql);
            return rs.getInt(1);
        }
    }

    private static Matcher find(Pattern p, String text) {
        Matcher m = p.matcher(text);
        assertTrue(m.find(), "no match for " + p + " in:\n" + text);
        return m;
    }

    private static String awaitStdout(RelayProcess p, String needle, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!p.stdout().contains(needle)) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                throw new AssertionError("demo did not print '" + needle + "'" + (p.isAlive() ? " within " + timeout
                        : " before it exited") + p.describe());
            }
            TimeUnit.MILLISECONDS.sleep(50);
        }
        return p.stdout();
    }

    /** Command lines naming the demo's directory: only its postmasters' do. */
    private static List<String> processesUnder(Path dir) {
        return ProcessHandle.allProcesses()
                .map(h -> h.info().commandLine().orElse(""))
                .filter(cmd -> cmd.contains(dir + "/"))
                .toList();
    }

    private static void cleanUp(Path dir) throws IOException, InterruptedException {
        if (dir == null) {
            return;
        }
        List<ProcessHandle> left = ProcessHandle.allProcesses()
                .filter(h -> h.info().commandLine().orElse("").contains(dir + "/"))
                .toList();
        for (ProcessHandle h : left) {
            h.descendants().forEach(ProcessHandle::destroyForcibly);
            h.destroyForcibly();
        }
        // Bounded: a killed postmaster nobody reaps stays a zombie, whose command line is empty.
        for (int i = 0; i < 200 && !processesUnder(dir).isEmpty(); i++) {
            TimeUnit.MILLISECONDS.sleep(50);
        }
        if (Files.exists(dir)) {
            try (Stream<Path> all = Files.walk(dir)) {
                for (Path f : all.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }
}
