package io.pgrelay.it.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.conf.ConfigException;
import io.pgrelay.conf.ConfigLoader;
import io.pgrelay.conf.PgRelayConfig;
import io.pgrelay.conf.UsersFile;
import io.pgrelay.wire.auth.PasswordSecret;
import io.pgrelay.wire.auth.ScramClientSession;
import io.pgrelay.wire.auth.ScramSecret;
import io.pgrelay.wire.auth.ScramServerSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * The container files (Dockerfile, deploy/compose.yaml, deploy/kubernetes/) agree with each other
 * and with pgrelay: the paths they copy exist, the ports they expose are the ones pgrelay listens
 * on, every PGRELAY_ variable they set is a configuration key, and the configurations they hold
 * load without error. No Docker engine or Kubernetes cluster runs here, so this is the check.
 */
class DeployFilesTest {
    /** Surefire runs in it-tests/. */
    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final String IMAGE = "pgrelay:latest";
    /** PGRELAY_ variables that are not configuration keys but that the image and launcher read. */
    private static final Set<String> LAUNCHER_VARIABLES = Set.of("PGRELAY_CONFIG", "PGRELAY_OPTS");

    @TempDir
    Path dir;

    private static Dockerfile dockerfile() throws IOException {
        return Dockerfile.read(ROOT.resolve("Dockerfile"));
    }

    /** The built-in defaults: the ports a container that configures nothing else listens on. */
    private static PgRelayConfig defaults() {
        return ConfigLoader.load(Optional.empty(), Map.of(), Map.of("primary", "127.0.0.1"));
    }

    private static List<Integer> exposed() throws IOException {
        return dockerfile().only("EXPOSE").words().stream().map(Integer::valueOf).toList();
    }

    private static void assertConfigVariable(String variable) {
        boolean key = ConfigLoader.overridableKeys().stream()
                .anyMatch(k -> ConfigLoader.environmentVariable(k).equals(variable));
        assertTrue(key || LAUNCHER_VARIABLES.contains(variable),
                () -> variable + " is neither a configuration key's variable nor one the launcher reads");
    }

    @Test
    void dockerfileBuildsTheShadedJarAndRunsItAsNonRoot() throws IOException {
        Dockerfile d = dockerfile();
        List<Dockerfile.Instruction> from = d.all("FROM");
        assertEquals(2, from.size(), from::toString);
        assertTrue(from.get(0).arguments().matches("eclipse-temurin:2[1-9]-jdk AS build"), from::toString);
        assertEquals("eclipse-temurin:21-jre", from.get(1).arguments());

        String build = d.all("RUN").stream().filter(i -> i.stage() == 0).map(Dockerfile.Instruction::arguments)
                .filter(a -> a.contains("mvnw")).findFirst().orElseThrow();
        assertTrue(build.endsWith("./mvnw -B -DskipTests -pl cli -am package"), build);
        // The jar the build stage makes is the shade plugin's finalName in cli/pom.xml.
        assertTrue(Files.readString(ROOT.resolve("cli/pom.xml")).contains("<finalName>pgrelay</finalName>"));

        for (Dockerfile.Instruction copy : d.all("COPY")) {
            List<String> words = copy.words();
            List<String> sources = words.subList(words.get(0).startsWith("--from=") ? 1 : 0, words.size() - 1);
            for (String source : sources) {
                String inRepo = words.get(0).equals("--from=build") ? source.replaceFirst("^/src/", "") : source;
                if (inRepo.equals("cli/target/pgrelay.jar")) {
                    continue;
                }
                assertTrue(Files.exists(ROOT.resolve(inRepo)), () -> copy + ": " + inRepo + " does not exist");
                assertFalse(dockerIgnored(inRepo), () -> copy + ": .dockerignore leaves out " + inRepo);
            }
        }
        String user = d.only("USER").arguments();
        assertTrue(user.matches("[1-9]\\d*:[1-9]\\d*"), () -> "USER should be a numeric non-root uid:gid, is " + user);
        assertEquals(d.lastStage(), d.only("USER").stage());

        String copiedToBin = d.all("COPY").stream().map(Dockerfile.Instruction::arguments)
                .filter(a -> a.endsWith("/opt/pgrelay/bin/")).findFirst().orElseThrow();
        assertTrue(d.only("ENV").arguments().contains("PATH=/opt/pgrelay/bin:$PATH"));
        assertEquals("[\"docker-entrypoint.sh\"]", d.only("ENTRYPOINT").arguments());
        assertTrue(copiedToBin.contains("deploy/docker-entrypoint.sh"), copiedToBin);
        String healthcheck = d.only("HEALTHCHECK").arguments();
        assertTrue(healthcheck.endsWith("CMD [\"healthcheck.sh\"]"), healthcheck);
        assertTrue(copiedToBin.contains("deploy/healthcheck.sh"), copiedToBin);
        for (String script : List.of("deploy/docker-entrypoint.sh", "deploy/healthcheck.sh", "bin/pgrelay")) {
            assertTrue(Files.isExecutable(ROOT.resolve(script)), script + " must be executable in the image");
        }
    }

    private static boolean dockerIgnored(String path) throws IOException {
        for (String line : Files.readAllLines(ROOT.resolve(".dockerignore"))) {
            String pattern = line.strip();
            if (pattern.isEmpty() || pattern.startsWith("#")) {
                continue;
            }
            String prefix = pattern.replace("**/", "").replaceAll("/$", "");
            if (path.equals(prefix) || path.startsWith(prefix + "/")) {
                return true;
            }
        }
        return false;
    }

    @Test
    void theImageExposesThePortsItsDefaultConfigurationListensOn() throws IOException {
        Path users = Files.writeString(dir.resolve("users.txt"), "app: some-password\n");
        Path containerConfig = ROOT.resolve("deploy/pgrelay.container.yaml");
        PgRelayConfig c = ConfigLoader.load(Optional.of(containerConfig),
                Map.of("PGRELAY_PRIMARY", "db:5432", "PGRELAY_AUTH_USERS_FILE", users.toString()), Map.of());
        assertEquals("0.0.0.0", c.listen().host());
        assertEquals(List.of(c.listen().port(), c.admin().listen().port()), exposed());
        assertEquals(List.of(defaults().listen().port(), defaults().admin().listen().port()), exposed());
        assertTrue(c.admin().listen().isLoopback(), "the image's HEALTHCHECK needs no token on loopback");

        // Listening on all addresses without a users file is refused, so the image is not open by default.
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Optional.of(containerConfig),
                Map.of("PGRELAY_PRIMARY", "db:5432"), Map.of()));
        assertTrue(e.problems().stream().anyMatch(p -> p.startsWith("auth.users_file")), e.problems()::toString);
    }

    @Test
    void composeRunsAPrimaryAReplicaAndPgrelayWired() throws IOException {
        Path compose = ROOT.resolve("deploy/compose.yaml");
        Map<String, Object> services = map(yaml(compose).get(0), "services");
        assertEquals(Set.of("primary", "replica", "pgrelay"), services.keySet());
        assertEquals("postgres:15", map(services, "primary").get("image"));
        assertEquals("postgres:15", map(services, "replica").get("image"));

        Map<String, Object> pgrelay = map(services, "pgrelay");
        assertEquals(IMAGE, pgrelay.get("image"));
        Map<String, Object> build = map(pgrelay, "build");
        assertTrue(Files.isRegularFile(compose.getParent().resolve((String) build.get("context"))
                .resolve((String) build.get("dockerfile"))));

        Map<String, String> env = strings(map(pgrelay, "environment"));
        env.keySet().forEach(DeployFilesTest::assertConfigVariable);
        assertEquals("primary:5432", env.get("PGRELAY_PRIMARY"), "the primary service on PostgreSQL's port");
        assertEquals("replica:5432", env.get("PGRELAY_REPLICAS"), "the replica service on PostgreSQL's port");

        // Every bind mount's source exists, and the users file lands where PGRELAY_AUTH_USERS_FILE says.
        Map<String, Path> mounts = new HashMap<>();
        for (Object service : services.values()) {
            for (Object volume : list(service, "volumes")) {
                String[] parts = ((String) volume).split(":");
                Path source = compose.getParent().resolve(parts[0]).normalize();
                assertTrue(Files.exists(source), () -> volume + ": " + source + " does not exist");
                mounts.put(parts[1], source);
            }
        }
        Path users = mounts.get(env.get("PGRELAY_AUTH_USERS_FILE"));
        assertTrue(users != null, () -> "no volume mounts " + env.get("PGRELAY_AUTH_USERS_FILE"));

        // The environment, with the users file at its path here, is a configuration pgrelay accepts.
        Map<String, String> local = new HashMap<>(env);
        local.put("PGRELAY_AUTH_USERS_FILE", users.toString());
        PgRelayConfig c = ConfigLoader.load(Optional.of(ROOT.resolve("deploy/pgrelay.container.yaml")), local, Map.of());
        assertTrue(c.admin().token().isPresent());
        assertEquals(List.of(c.listen().port() + ":" + c.listen().port(),
                        c.admin().listen().port() + ":" + c.admin().listen().port()),
                list(pgrelay, "ports").stream().map(p -> ((String) p).replaceFirst("^127\\.0\\.0\\.1:", "")).toList());

        // The password the users file gives pgrelay is the one the primary's init script sets.
        String password = UsersFile.read(users).get("app");
        String init = Files.readString(mounts.get("/docker-entrypoint-initdb.d/primary-init.sh"));
        assertTrue(init.contains("CREATE ROLE app LOGIN PASSWORD '" + password + "'"), init);
        String replicator = strings(map(services, "replica", "environment")).get("REPLICATOR_PASSWORD");
        assertTrue(init.contains("CREATE ROLE replicator REPLICATION LOGIN PASSWORD '" + replicator + "'"), init);
    }

    @Test
    void kubernetesSidecarProbesPortsSecretsAndConfigurationAgree() throws IOException {
        List<Map<String, Object>> docs = yaml(ROOT.resolve("deploy/kubernetes/sidecar.yaml"));
        Map<String, Map<String, Object>> byKindAndName = new HashMap<>();
        docs.forEach(d -> byKindAndName.put(d.get("kind") + "/" + map(d, "metadata").get("name"), d));
        Map<String, Object> pod = map(byKindAndName.get("Deployment/my-app"), "spec", "template", "spec");
        Map<String, Map<String, Object>> containers = new HashMap<>();
        list(pod, "containers").forEach(c -> containers.put((String) ((Map<?, ?>) c).get("name"), cast(c)));
        assertEquals(Set.of("app", "pgrelay"), containers.keySet());
        Map<String, Object> relay = containers.get("pgrelay");
        assertEquals(IMAGE, relay.get("image"));

        Map<String, Integer> ports = new HashMap<>();
        list(relay, "ports").forEach(p -> ports.put((String) ((Map<?, ?>) p).get("name"),
                (Integer) ((Map<?, ?>) p).get("containerPort")));
        assertEquals(Map.of("pg", 6432, "admin", 6433), ports);
        assertEquals(List.copyOf(ports.values()).stream().sorted().toList(), exposed());
        assertEquals(Map.of("path", "/health/live", "port", "admin"), map(relay, "livenessProbe", "httpGet"));
        assertEquals(Map.of("path", "/health/ready", "port", "admin"), map(relay, "readinessProbe", "httpGet"));
        assertEquals(Map.of("path", "/health/live", "port", "admin"), map(relay, "startupProbe", "httpGet"));

        // Environment: configuration variables only, secrets that exist.
        Map<String, String> env = new HashMap<>();
        for (Object e : list(relay, "env")) {
            Map<String, Object> var = cast(e);
            String name = (String) var.get("name");
            assertConfigVariable(name);
            if (var.containsKey("valueFrom")) {
                Map<String, Object> ref = map(var, "valueFrom", "secretKeyRef");
                env.put(name, secretValue(byKindAndName, (String) ref.get("name"), (String) ref.get("key")));
            } else {
                env.put(name, (String) var.get("value"));
            }
        }

        // Mounts: the config file from the ConfigMap, the users file from the Secret.
        Map<String, Map<String, Object>> volumes = new HashMap<>();
        list(pod, "volumes").forEach(v -> volumes.put((String) ((Map<?, ?>) v).get("name"), cast(v)));
        Map<String, String> mountedFiles = new HashMap<>();
        for (Object m : list(relay, "volumeMounts")) {
            Map<String, Object> mount = cast(m);
            Map<String, Object> volume = volumes.get((String) mount.get("name"));
            assertTrue(volume != null, () -> "volumeMount of an undeclared volume: " + mount);
            Map<String, String> files = volume.containsKey("configMap")
                    ? strings(map(byKindAndName.get("ConfigMap/" + map(volume, "configMap").get("name")), "data"))
                    : volume.containsKey("secret")
                    ? strings(map(byKindAndName.get("Secret/" + map(volume, "secret").get("secretName")), "stringData"))
                    : Map.of();
            files.forEach((file, content) -> mountedFiles.put(mount.get("mountPath") + "/" + file, content));
        }
        String configText = mountedFiles.get(env.get("PGRELAY_CONFIG"));
        assertTrue(configText != null, () -> "PGRELAY_CONFIG " + env.get("PGRELAY_CONFIG") + " is not a mounted file");
        Path config = Files.writeString(dir.resolve("pgrelay.yaml"), configText);
        Map<String, String> raw = cast(yaml(config).get(0).get("auth"));
        String usersText = mountedFiles.get(raw.get("users_file"));
        assertTrue(usersText != null, () -> "auth.users_file " + raw.get("users_file") + " is not a mounted file");
        Path users = Files.writeString(dir.resolve("users.txt"), usersText);

        Map<String, String> local = new HashMap<>(env);
        local.remove("PGRELAY_CONFIG");
        PgRelayConfig c = ConfigLoader.load(Optional.of(config), local, Map.of("auth.users_file", users.toString()));
        assertEquals(ports.get("pg"), c.listen().port());
        assertTrue(c.listen().isLoopback(), "a sidecar serves its own pod only");
        assertEquals(ports.get("admin"), c.admin().listen().port());
        assertNotEquals(Optional.empty(), c.admin().token(), "probes reach a non-loopback admin address");
        int grace = (Integer) pod.get("terminationGracePeriodSeconds");
        assertTrue(c.shutdownTimeout().toSeconds() < grace, "the drain must end before the kubelet's SIGKILL");

        // The application logs in through pgrelay with a password the users file's verifier accepts.
        Map<String, String> appEnv = new HashMap<>();
        for (Object e : list(containers.get("app"), "env")) {
            Map<String, Object> var = cast(e);
            Map<String, Object> ref = var.containsKey("valueFrom") ? map(var, "valueFrom", "secretKeyRef") : null;
            appEnv.put((String) var.get("name"), ref == null ? (String) var.get("value")
                    : secretValue(byKindAndName, (String) ref.get("name"), (String) ref.get("key")));
        }
        assertEquals("127.0.0.1", appEnv.get("PGHOST"));
        assertEquals(String.valueOf(c.listen().port()), appEnv.get("PGPORT"));
        String verifier = UsersFile.read(users).get(appEnv.get("PGUSER"));
        scramLogin((ScramSecret) PasswordSecret.parse(verifier), appEnv.get("PGPASSWORD"));
    }

    private static String secretValue(Map<String, Map<String, Object>> docs, String secret, String key) {
        Map<String, Object> doc = docs.get("Secret/" + secret);
        assertTrue(doc != null, () -> "no Secret " + secret);
        String value = strings(map(doc, "stringData")).get(key);
        assertTrue(value != null, () -> "Secret " + secret + " has no key " + key);
        return value;
    }

    private static void scramLogin(ScramSecret secret, String password) {
        SecureRandom random = new SecureRandom();
        ScramClientSession client = ScramClientSession.withPassword(password, random);
        ScramServerSession server = new ScramServerSession(secret, random);
        byte[] serverFinal = server.handleClientFinal(client.handleServerFirst(
                server.handleClientFirst(client.clientFirstMessage())));
        client.handleServerFinal(serverFinal);
    }

    @Test
    void everyShellScriptParses() throws Exception {
        List<Path> scripts = new ArrayList<>();
        try (var files = Files.walk(ROOT.resolve("deploy"))) {
            files.filter(f -> f.toString().endsWith(".sh")).forEach(scripts::add);
        }
        assertEquals(4, scripts.size(), scripts::toString);
        for (Path script : scripts) {
            Process p = new ProcessBuilder("bash", "-n", script.toString()).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            assertEquals(0, p.waitFor(), () -> script + ": " + out);
            Matcher shebang = Pattern.compile("\\A#!/usr/bin/env bash\n# \\S").matcher(Files.readString(script));
            assertTrue(shebang.find(), () -> script + " should start with a bash shebang and a line saying what it is");
        }
    }

    // ---- YAML helpers

    private static List<Map<String, Object>> yaml(Path file) throws IOException {
        String text = Files.readString(file);
        Iterable<Object> docs = new Yaml(new LoaderOptions()).loadAll(text);
        return StreamSupport.stream(docs.spliterator(), false).map(DeployFilesTest::<Map<String, Object>>cast).toList();
    }

    @SuppressWarnings("unchecked")
    private static <T> T cast(Object o) {
        return (T) o;
    }

    /** The mapping at {@code path} below {@code node}, failing with the path if it is missing. */
    private static Map<String, Object> map(Object node, String... path) {
        Object current = node;
        for (String key : path) {
            Object next = current instanceof Map<?, ?> m ? m.get(key) : null;
            if (!(next instanceof Map<?, ?>)) {
                throw new AssertionError("no mapping at " + String.join(".", path) + " in " + node);
            }
            current = next;
        }
        return cast(current);
    }

    private static List<Object> list(Object node, String key) {
        Object value = ((Map<?, ?>) node).get(key);
        return value == null ? List.of() : cast(value);
    }

    /** A mapping's values as text, as environment variables and file contents are. */
    private static Map<String, String> strings(Map<String, Object> map) {
        Map<String, String> out = new HashMap<>();
        map.forEach((k, v) -> out.put(k, String.valueOf(v)));
        return out;
    }
}
