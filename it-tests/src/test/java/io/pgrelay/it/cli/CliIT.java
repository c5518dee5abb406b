package io.pgrelay.it.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.cli.RelayProcess.Result;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code pgrelay} command line as users run it: the shaded jar in its own JVM, checked by
 * exit code (0 ok, 1 runtime failure, 2 usage, 78 invalid configuration) and by what it prints.
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class CliIT {
    private static final Path EXAMPLE = Path.of("../conf/examples/pgrelay.yaml");

    @TempDir
    static Path dir;

    private static Path badConfig;

    @BeforeAll
    static void files() throws IOException {
        RelayProcess.jar();
        badConfig = dir.resolve("bad.yaml");
        Files.writeString(badConfig, """
                listen: "10.1.2.3:6432"
                primary: "127.0.0.1:5432"
                pool:
                  sise: 10
                shutdown_timeout: 10 parsecs
                """);
    }

    @Test
    void versionPrintsTheBuildVersion() throws Exception {
        for (String flag : List.of("--version", "-V")) {
            Result r = RelayProcess.run(flag);
            assertEquals(0, r.exit(), r::toString);
            String first = r.stdout().lines().findFirst().orElse("");
            assertTrue(first.matches("pgrelay \\d+\\.\\d+\\.\\d+(-[A-Za-z0-9.]+)?"),
                    () -> flag + ": first line should be 'pgrelay <version>', was '" + first + "'\n" + r);
        }
    }

    @Test
    void helpListsTheCommands() throws Exception {
        Result r = RelayProcess.run("--help");
        assertEquals(0, r.exit(), r::toString);
        assertTrue(r.stdout().contains("Usage: pgrelay"), r::toString);
        assertTrue(r.stdout().contains("serve"), r::toString);
        assertTrue(r.stdout().contains("check-config"), r::toString);
        assertTrue(r.stdout().contains("passwd"), r::toString);
        assertTrue(r.stdout().contains("completion"), r::toString);
    }

    @Test
    void completionPrintsABashScriptForTheCommands() throws Exception {
        Result r = RelayProcess.run("completion");
        assertEquals(0, r.exit(), r::toString);
        assertTrue(r.stdout().startsWith("#!/usr/bin/env bash"), r::toString);
        for (String word : List.of("serve", "check-config", "passwd", "--admin-listen", "--log-format")) {
            assertTrue(r.stdout().contains(word), () -> "completion lacks " + word);
        }
    }

    /**
     * On a terminal, passwd asks twice. util-linux {@code script} gives it one; the answers are
     * typed ahead, so the terminal echoes them before passwd turns echo off, which is why only
     * what follows the second prompt is checked.
     */
    @Test
    void passwdOnATerminalAsksTwiceAndRefusesAMismatch() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/script")), "needs util-linux script for a pty");
        String command = RelayProcess.java() + " -jar " + RelayProcess.jar() + " passwd app";
        for (String answers : List.of("pw-one\npw-one\n", "pw-one\npw-two\n")) {
            Process p = new ProcessBuilder("/usr/bin/script", "-qec", command, "/dev/null").redirectErrorStream(true)
                    .start();
            String out;
            try {
                try (var in = p.getOutputStream()) {
                    in.write(answers.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                }
                out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
                assertTrue(p.waitFor(60, TimeUnit.SECONDS), out);
            } finally {
                p.destroyForcibly();
            }
            String afterPrompts = out.substring(out.indexOf("Again: ") + "Again: ".length());
            if (answers.equals("pw-one\npw-one\n")) {
                assertEquals(0, p.exitValue(), out);
                assertTrue(afterPrompts.strip().startsWith("app: SCRAM-SHA-256$4096:"), out);
                assertFalse(afterPrompts.contains("pw-one"), out);
            } else {
                assertEquals(1, p.exitValue(), out);
                assertTrue(afterPrompts.contains("the passwords do not match"), out);
                assertFalse(afterPrompts.contains("SCRAM"), out);
            }
        }
    }

    @Test
    void passwdReadsThePasswordFromStdinAndCheckConfigAcceptsTheResult() throws Exception {
        Result r = RelayProcess.runWithInput("a password\n", "passwd", "app");
        assertEquals(0, r.exit(), r::toString);
        assertTrue(r.stdout().startsWith("app: SCRAM-SHA-256$4096:"), r::toString);
        assertFalse(r.stdout().contains("a password") || r.stderr().contains("a password"), r::toString);
        Path users = Files.writeString(dir.resolve("passwd-users.txt"), r.stdout());
        Path config = Files.writeString(dir.resolve("passwd.yaml"), "primary: 127.0.0.1\nauth:\n  users_file: "
                + users + "\n");
        Result check = RelayProcess.run("check-config", config.toString());
        assertEquals(0, check.exit(), check::toString);

        Result none = RelayProcess.runWithInput("", "passwd", "app");
        assertEquals(1, none.exit(), none::toString);
        assertEquals("", none.stdout(), none::toString);
    }

    @Test
    void serveHelpNamesItsOptions() throws Exception {
        Result r = RelayProcess.run("serve", "--help");
        assertEquals(0, r.exit(), r::toString);
        for (String option : List.of("--config", "--listen", "--primary", "--replica", "--pool-mode", "--pool-size",
                "--admin-listen", "--log-format", "--log-level")) {
            assertTrue(r.stdout().contains(option), () -> "serve --help should mention " + option + "\n" + r);
        }
    }

    @Test
    void checkConfigHelpNamesItsArgument() throws Exception {
        Result r = RelayProcess.run("check-config", "--help");
        assertEquals(0, r.exit(), r::toString);
        assertTrue(r.stdout().contains("Usage: pgrelay check-config"), r::toString);
        assertTrue(r.stdout().contains("FILE"), r::toString);
        assertTrue(r.stdout().contains("78"), () -> "check-config --help should explain its exit codes\n" + r);
    }

    @Test
    void usageErrorsExit2() throws Exception {
        List<List<String>> usageErrors = List.of(
                List.of(),
                List.of("frobnicate"),
                List.of("--frobnicate"),
                List.of("serve", "--frobnicate"),
                List.of("serve", "--pool-size", "lots"),
                List.of("check-config"));
        for (List<String> args : usageErrors) {
            Result r = RelayProcess.run(args.toArray(String[]::new));
            assertEquals(2, r.exit(), () -> "pgrelay " + String.join(" ", args) + "\n" + r);
            assertFalse(r.stderr().isBlank(), () -> "a usage error should say what is wrong\n" + r);
            assertFalse(r.stderr().contains(RelayProcess.LISTENING), r::toString);
        }
    }

    @Test
    void checkConfigAcceptsTheShippedExample() throws Exception {
        Result r = RelayProcess.run("check-config", EXAMPLE.toAbsolutePath().normalize().toString());
        assertEquals(0, r.exit(), r::toString);
        assertTrue(r.stdout().contains("OK"), r::toString);
    }

    @Test
    void checkConfigNamesEveryBadKey() throws Exception {
        Result r = RelayProcess.run("check-config", badConfig.toString());
        assertEquals(78, r.exit(), r::toString);
        String err = r.stderr();
        assertTrue(err.contains("pool.sise"), r::toString);
        assertTrue(err.contains("did you mean pool.size"), r::toString);
        assertTrue(err.contains("shutdown_timeout"), r::toString);
        assertTrue(err.contains("10 parsecs"), () -> "the bad value should be quoted\n" + r);
        assertTrue(err.contains("auth.users_file"), r::toString);
        assertTrue(err.contains("10.1.2.3:6432"), () -> "the non-loopback address should be named\n" + r);
        assertFalse(r.stdout().contains("OK"), r::toString);
    }

    @Test
    void checkConfigRejectsUnknownEnvironmentAndMissingFile() throws Exception {
        Result env = RelayProcess.run(Duration.ofSeconds(60), Map.of("PGRELAY_POOL_SISE", "10"),
                "check-config", EXAMPLE.toAbsolutePath().normalize().toString());
        assertEquals(78, env.exit(), env::toString);
        assertTrue(env.stderr().contains("PGRELAY_POOL_SISE"), env::toString);
        assertTrue(env.stderr().contains("did you mean PGRELAY_POOL_SIZE"), env::toString);

        Path missing = dir.resolve("no-such.yaml");
        Result r = RelayProcess.run("check-config", missing.toString());
        assertEquals(78, r.exit(), r::toString);
        assertTrue(r.stderr().contains(missing.toString()), r::toString);
    }

    @Test
    void serveWithAnInvalidConfigExits78WithoutListening() throws Exception {
        Result r = RelayProcess.run("serve", "--config", badConfig.toString());
        assertEquals(78, r.exit(), r::toString);
        assertTrue(r.stderr().contains("pool.sise"), r::toString);
        assertTrue(r.stderr().contains("shutdown_timeout"), r::toString);
        assertFalse(r.stderr().contains(RelayProcess.LISTENING), r::toString);

        int port = RelayProcess.freePort();
        Result flag = RelayProcess.run("serve", "--listen", "127.0.0.1:" + port, "--primary", "127.0.0.1:5432",
                "--pool-mode", "sessoin");
        assertEquals(78, flag.exit(), flag::toString);
        assertTrue(flag.stderr().contains("pool.mode"), flag::toString);
        assertTrue(flag.stderr().contains("sessoin"), flag::toString);
        assertFalse(flag.stderr().contains(RelayProcess.LISTENING), flag::toString);
    }

    @Test
    void serveOnAPortInUseExits1NamingTheAddress() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            String address = "127.0.0.1:" + taken.getLocalPort();
            Result r = RelayProcess.run("serve", "--listen", address, "--admin-listen", "127.0.0.1:0",
                    "--primary", "127.0.0.1:5432");
            assertEquals(1, r.exit(), r::toString);
            assertTrue(r.stderr().contains(address), () -> "the error should name " + address + "\n" + r);
            assertFalse(r.stderr().contains(RelayProcess.LISTENING), r::toString);

            Result admin = RelayProcess.run("serve", "--listen", "127.0.0.1:" + RelayProcess.freePort(),
                    "--admin-listen", address, "--primary", "127.0.0.1:5432");
            assertEquals(1, admin.exit(), admin::toString);
            assertTrue(admin.stderr().contains("cannot listen on " + address + " (admin.listen)"), admin::toString);
            assertFalse(admin.stderr().contains(RelayProcess.LISTENING), admin::toString);
        }
    }
}
