package io.pgrelay.it.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image without Docker: the files the Dockerfile's last stage copies, laid out under a
 * temporary root as the COPY lines say, started through the entrypoint with the image's default
 * configuration and PGRELAY_ environment. The health check must pass, the entrypoint and launcher
 * must have exec'd into the JVM (so that it receives SIGTERM), and SIGTERM must stop it cleanly.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ContainerLayoutIT {
    private static final Path JAR = DeployFilesTest.ROOT.resolve("cli/target/pgrelay.jar");

    @TempDir
    Path root;

    /** Copies what the last stage's COPY lines copy, from the repository (or the built jar), under {@link #root}. */
    private void layOutImage(Dockerfile d) throws IOException {
        for (Dockerfile.Instruction copy : d.all("COPY")) {
            if (copy.stage() != d.lastStage()) {
                continue;
            }
            List<String> words = copy.words();
            boolean fromBuild = words.get(0).equals("--from=build");
            String dest = words.getLast();
            for (String source : words.subList(fromBuild ? 1 : 0, words.size() - 1)) {
                Path from = DeployFilesTest.ROOT.resolve(fromBuild ? source.replaceFirst("^/src/", "") : source);
                Path to = root.resolve(dest.substring(1));
                if (dest.endsWith("/")) {
                    to = to.resolve(from.getFileName().toString());
                }
                Files.createDirectories(to.getParent());
                Files.copy(from, to, StandardCopyOption.COPY_ATTRIBUTES);
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private Process start(Path script, Map<String, String> env) throws IOException {
        ProcessBuilder pb = new ProcessBuilder("bash", script.toString());
        pb.environment().keySet().removeIf(k -> k.startsWith("PGRELAY_"));
        pb.environment().putAll(env);
        return pb.redirectErrorStream(true).redirectOutput(root.resolve("pgrelay.log").toFile()).start();
    }

    private String log() throws IOException {
        return Files.readString(root.resolve("pgrelay.log"));
    }

    @Test
    void entrypointStartsPgrelayThatTheHealthCheckSeesReady() throws Exception {
        assertTrue(Files.isRegularFile(JAR), "build the jar first: ./mvnw -B -DskipTests -pl cli -am package");
        Dockerfile d = Dockerfile.read(DeployFilesTest.ROOT.resolve("Dockerfile"));
        layOutImage(d);
        Path bin = root.resolve("opt/pgrelay/bin");
        Path config = root.resolve("etc/pgrelay/pgrelay.yaml");
        assertTrue(Files.isRegularFile(config) && Files.isRegularFile(root.resolve("opt/pgrelay/lib/pgrelay.jar")));
        // The image's entrypoint, looking for its default configuration under the temporary root.
        Path entrypoint = bin.resolve("docker-entrypoint.sh");
        Files.writeString(entrypoint, Files.readString(entrypoint)
                .replace("\ndefault_config=/etc/pgrelay/pgrelay.yaml\n", "\ndefault_config=" + config + "\n"));

        Path users = Files.writeString(root.resolve("users.txt"), "app: some-password\n");
        String opts = d.only("ENV").arguments().replaceAll("(?s).*PGRELAY_OPTS=\"([^\"]*)\".*", "$1");
        int port = freePort();
        String admin = "127.0.0.1:" + freePort();
        Map<String, String> env = Map.of(
                "PATH", bin + ":" + System.getenv("PATH"),
                "JAVA_HOME", System.getProperty("java.home"),
                "PGRELAY_OPTS", opts,
                "PGRELAY_PRIMARY", "127.0.0.1:5432",
                "PGRELAY_AUTH_USERS_FILE", users.toString(),
                // Only loopback here; the image's file says 0.0.0.0, which the environment overrides.
                "PGRELAY_LISTEN", "127.0.0.1:" + port,
                "PGRELAY_ADMIN_LISTEN", admin);
        Process relay = start(entrypoint, env);
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            int health;
            do {
                TimeUnit.MILLISECONDS.sleep(200);
                ProcessBuilder pb = new ProcessBuilder("bash", bin.resolve("healthcheck.sh").toString());
                pb.environment().put("PGRELAY_ADMIN_LISTEN", admin);
                Process check = pb.redirectErrorStream(true).start();
                check.getInputStream().readAllBytes();
                health = check.waitFor();
            } while (health != 0 && relay.isAlive() && System.nanoTime() < deadline);
            assertEquals(0, health, this::logOrError);
            assertTrue(log().contains("pgrelay listening on 127.0.0.1:" + port), this::logOrError);

            String command = relay.toHandle().info().command().orElse("");
            assertTrue(command.endsWith("/bin/java"), () -> "the entrypoint and launcher exec into java, so "
                    + "it gets the container's signals; pid " + relay.pid() + " runs " + command);
            relay.toHandle().destroy();
            assertTrue(relay.waitFor(30, TimeUnit.SECONDS), "SIGTERM stops pgrelay");
            assertEquals(0, relay.exitValue(), this::logOrError);
            assertTrue(log().contains("pgrelay stopped"), this::logOrError);
        } finally {
            relay.destroyForcibly();
            relay.waitFor(15, TimeUnit.SECONDS);
        }
    }

    private String logOrError() {
        try {
            return "pgrelay log:\n" + log();
        } catch (IOException e) {
            return "cannot read the log: " + e;
        }
    }
}
