package io.pgrelay.cli.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.cli.PgRelayCli;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Argument handling of {@code pgrelay demo} and how it finds (or fails to find) the PostgreSQL binaries. */
class DemoCommandTest {
    @TempDir
    Path dir;

    private record Run(int exit, String out, String err) {
    }

    private static Run demo(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = PgRelayCli.commandLine();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        String[] full = new String[args.length + 1];
        full[0] = "demo";
        System.arraycopy(args, 0, full, 1, args.length);
        return new Run(cli.execute(full), out.toString(), err.toString());
    }

    @Test
    void noBinariesNamesTheDirectoryAndThePackage() {
        DemoException e = assertThrows(DemoException.class, () -> PgTools.newestBinDir(dir));
        assertTrue(e.getMessage().contains(dir + "/*/bin"), e.getMessage());
        assertTrue(e.getMessage().contains("apt-get install postgresql"), e.getMessage());

        DemoException missing = assertThrows(DemoException.class, () -> PgTools.newestBinDir(dir.resolve("none")));
        assertTrue(missing.getMessage().contains(dir.resolve("none") + "/*/bin"), missing.getMessage());
    }

    @Test
    void picksTheNewestCompleteVersion() throws IOException {
        Path v9 = fakeBinDir("9", PgTools.REQUIRED.toArray(String[]::new));
        Path v16 = fakeBinDir("16", PgTools.REQUIRED.toArray(String[]::new));
        fakeBinDir("17", "initdb", "pg_ctl");
        Files.createDirectories(dir.resolve("notes"));

        assertEquals(v16, PgTools.newestBinDir(dir));
        Files.delete(v16.resolve("pg_basebackup"));
        assertEquals(v9, PgTools.newestBinDir(dir));
    }

    @Test
    void pgBinWithoutServerBinariesIsAnErrorNamingIt() {
        Path empty = dir.resolve("empty");
        Run r = demo("--pg-bin", empty.toString(), "--duration", "1s");
        assertEquals(1, r.exit(), r.err());
        assertTrue(r.err().startsWith("pgrelay demo: " + empty + " does not hold the PostgreSQL server binaries"),
                r.err());
        assertTrue(r.err().contains("initdb, pg_ctl, postgres, pg_basebackup"), r.err());
        assertEquals("", r.out());
    }

    @Test
    void badPortAndDurationAreUsageErrors() {
        Run port = demo("--port", "70000");
        assertEquals(2, port.exit());
        assertTrue(port.err().contains("--port 70000 is out of range (0 to 65535)"), port.err());

        Run duration = demo("--duration", "soon");
        assertEquals(2, duration.exit());
        assertTrue(duration.err().contains("'soon' is not a duration"), duration.err());
    }

    @Test
    void durationUnits() {
        DemoCommand.DurationConverter c = new DemoCommand.DurationConverter();
        assertEquals(Duration.ofMillis(500), c.convert("500ms"));
        assertEquals(Duration.ofSeconds(60), c.convert("60s"));
        assertEquals(Duration.ofSeconds(45), c.convert("45"));
        assertEquals(Duration.ofMinutes(5), c.convert("5m"));
        assertEquals(Duration.ofHours(1), c.convert(" 1h "));
        assertThrows(CommandLine.TypeConversionException.class, () -> c.convert("-1s"));
    }

    private Path fakeBinDir(String version, String... tools) throws IOException {
        Path bin = Files.createDirectories(dir.resolve(version).resolve("bin"));
        for (String t : tools) {
            Files.writeString(bin.resolve(t), "#!/bin/sh\nexit 1\n");
            Files.setPosixFilePermissions(bin.resolve(t), PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return bin;
    }
}
