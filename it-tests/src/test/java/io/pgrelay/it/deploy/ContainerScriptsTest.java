package io.pgrelay.it.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.conf.AdminConfig;
import io.pgrelay.conf.HostPort;
import io.pgrelay.server.http.AdminServer;
import io.pgrelay.server.metrics.RelayMetrics;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image's scripts run here without Docker: the entrypoint with a fake {@code pgrelay} on the
 * PATH that prints the arguments it gets, and the health check against a real admin endpoint.
 */
class ContainerScriptsTest {
    private static final Path ENTRYPOINT = DeployFilesTest.ROOT.resolve("deploy/docker-entrypoint.sh");
    private static final Path HEALTHCHECK = DeployFilesTest.ROOT.resolve("deploy/healthcheck.sh");
    private static final String DEFAULT_CONFIG = "/etc/pgrelay/pgrelay.yaml";

    @TempDir
    Path dir;

    private Path bin;

    /** What a script printed and returned. */
    private record Run(int exit, String stdout, String stderr) {
        List<String> argv() {
            return stdout.lines().toList();
        }
    }

    @BeforeEach
    void fakePgrelay() throws IOException {
        bin = Files.createDirectories(dir.resolve("bin"));
        Path fake = Files.writeString(bin.resolve("pgrelay"), "#!/usr/bin/env bash\nprintf '%s\\n' \"$@\"\n");
        Files.setPosixFilePermissions(fake, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private Run run(Path script, Map<String, String> env, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("bash", script.toString()));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().keySet().removeIf(k -> k.startsWith("PGRELAY_"));
        pb.environment().put("PATH", bin + ":" + System.getenv("PATH"));
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "script did not end");
        return new Run(p.exitValue(), out, err);
    }

    /** The entrypoint with the default config location moved to {@code config}, as if the image had it there. */
    private Path entrypointWithDefaultConfigAt(Path config) throws IOException {
        String text = Files.readString(ENTRYPOINT);
        String assignment = "\ndefault_config=" + DEFAULT_CONFIG + "\n";
        assertTrue(text.contains(assignment), "the entrypoint sets default_config=" + DEFAULT_CONFIG);
        return Files.writeString(dir.resolve("entrypoint.sh"),
                text.replace(assignment, "\ndefault_config='" + config + "'\n"));
    }

    @Test
    void withoutArgumentsItServesWithTheConfigFileThatExists() throws Exception {
        assertTrue(Files.notExists(Path.of(DEFAULT_CONFIG)), "this test assumes no " + DEFAULT_CONFIG + " here");
        Run none = run(ENTRYPOINT, Map.of());
        assertEquals(0, none.exit(), none::toString);
        assertEquals(List.of("serve"), none.argv());

        Path imageConfig = Files.writeString(dir.resolve("image.yaml"), "listen: 0.0.0.0:6432\n");
        Path entrypoint = entrypointWithDefaultConfigAt(imageConfig);
        assertEquals(List.of("serve", "--config", imageConfig.toString()), run(entrypoint, Map.of()).argv());

        Path mounted = Files.writeString(dir.resolve("my config.yaml"), "listen: 0.0.0.0:6432\n");
        Run chosen = run(entrypoint, Map.of("PGRELAY_CONFIG", mounted.toString()));
        assertEquals(List.of("serve", "--config", mounted.toString()), chosen.argv(), "PGRELAY_CONFIG wins");
    }

    @Test
    void flagsGoToServeAndCommandsRunAsGiven() throws Exception {
        Path config = Files.writeString(dir.resolve("image.yaml"), "listen: 0.0.0.0:6432\n");
        Path entrypoint = entrypointWithDefaultConfigAt(config);
        assertEquals(List.of("serve", "--config", config.toString(), "--pool-size", "50", "--log-format", "json"),
                run(entrypoint, Map.of(), "--pool-size", "50", "--log-format", "json").argv());
        assertEquals(List.of("passwd", "app"), run(entrypoint, Map.of(), "passwd", "app").argv());
        assertEquals(List.of("check-config", "/x y.yaml"), run(entrypoint, Map.of(), "check-config", "/x y.yaml").argv());
        for (String own : List.of("--version", "-V", "--help", "-h")) {
            assertEquals(List.of(own), run(entrypoint, Map.of(), own).argv(), "pgrelay's own " + own);
        }
    }

    @Test
    void aMissingPgrelayConfigStopsWithExit78() throws Exception {
        Path missing = dir.resolve("nowhere.yaml");
        Run r = run(ENTRYPOINT, Map.of("PGRELAY_CONFIG", missing.toString()));
        assertEquals(78, r.exit(), r::toString);
        assertEquals("", r.stdout(), "pgrelay must not run");
        assertTrue(r.stderr().contains("PGRELAY_CONFIG=" + missing + ": no such file"), r::toString);
    }

    @Test
    void healthcheckPassesOnlyWhileReady() throws Exception {
        AtomicReference<Optional<String>> notReady = new AtomicReference<>(Optional.empty());
        try (RelayMetrics metrics = new RelayMetrics()) {
            AdminServer admin = new AdminServer(new AdminConfig(new HostPort("127.0.0.1", 0), Optional.empty()),
                    metrics, notReady::get).start();
            int port = admin.localAddress().getPort();
            try {
                for (String listen : List.of("0.0.0.0:" + port, "127.0.0.1:" + port, "localhost:" + port)) {
                    Run ok = run(HEALTHCHECK, Map.of("PGRELAY_ADMIN_LISTEN", listen));
                    assertEquals(0, ok.exit(), () -> listen + ": " + ok);
                }
                notReady.set(Optional.of("shutting down"));
                Run draining = run(HEALTHCHECK, Map.of("PGRELAY_ADMIN_LISTEN", "0.0.0.0:" + port));
                assertEquals(1, draining.exit(), draining::toString);
                assertTrue(draining.stderr().contains("HTTP 503"), draining::toString);
            } finally {
                admin.close();
            }
            Run gone = run(HEALTHCHECK, Map.of("PGRELAY_ADMIN_LISTEN", "127.0.0.1:" + port));
            assertEquals(1, gone.exit(), gone::toString);
            assertTrue(gone.stderr().contains("does not answer"), gone::toString);
        }
    }
}
