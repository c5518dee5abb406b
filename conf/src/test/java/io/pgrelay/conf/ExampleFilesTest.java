package io.pgrelay.conf;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/** The shipped examples in conf/examples load, document every key and keep to the defaults. */
class ExampleFilesTest {
    // Surefire runs tests in the module directory.
    private static final Path EXAMPLE = Path.of("examples/pgrelay.yaml");
    private static final Path USERS = Path.of("examples/users.txt");

    private static PgRelayConfig example() {
        return ConfigLoader.load(Optional.of(EXAMPLE), Map.of(), Map.of());
    }

    @Test
    void exampleLoadsAndPassesCheck() {
        PgRelayConfig c = example();
        assertEquals(List.of("pg1", "pg2", "pg3"), c.nodes().stream().map(NodeConfig::name).toList());
        assertEquals("pg1", c.primary().name());
        assertEquals(Optional.of(USERS.toAbsolutePath().normalize()), c.auth().usersFile());
        assertEquals(List.of("app"), List.copyOf(c.auth().users().keySet()));
        assertEquals(AuthMethod.REJECT, c.auth().rules().getLast().method());
        assertEquals(List.of(), ConfigLoader.check(EXAMPLE, Map.of()));
    }

    @Test
    void exampleUsesLoopbackAddressesOnly() {
        PgRelayConfig c = example();
        assertTrue(c.listen().isLoopback());
        c.nodes().forEach(n -> assertTrue(n.address().isLoopback(), n::toString));
    }

    @Test
    void exampleStatesTheDefaults() {
        PgRelayConfig example = example();
        PgRelayConfig defaults = ConfigLoader.load(Optional.empty(), Map.of(), Map.of("primary", "127.0.0.1"));
        assertEquals(defaults.listen(), example.listen());
        assertEquals(defaults.pool(), example.pool());
        assertEquals(defaults.maxMessageSize(), example.maxMessageSize());
        assertEquals(defaults.startupTimeout(), example.startupTimeout());
        assertEquals(defaults.shutdownTimeout(), example.shutdownTimeout());
        assertEquals(defaults.eventLoopThreads(), example.eventLoopThreads());
        assertEquals(defaults.log(), example.log());
        assertEquals(defaults.admin(), example.admin());
        assertEquals(defaults.healthCheck(), example.healthCheck());
        assertEquals(defaults.failover(), example.failover());
        assertEquals(defaults.hooks(), example.hooks());
        assertEquals(defaults.monitor().database(), example.monitor().database());
        assertEquals(defaults.primary().priority(), example.primary().priority());
        assertEquals(defaults.adminUsers(), example.adminUsers());
    }

    @Test
    void exampleMentionsEveryKey() throws IOException {
        String text = Files.readString(EXAMPLE);
        for (String key : ConfigLoader.knownKeys()) {
            String leaf = key.substring(key.lastIndexOf('.') + 1);
            assertTrue(text.contains(leaf + ":"), () -> key + " is not in " + EXAMPLE);
        }
    }

    @Test
    void exampleUserHasTheDocumentedPassword() throws IOException, GeneralSecurityException {
        String verifier = UsersFile.read(USERS).get("app");
        String[] parts = verifier.split("[$:]");
        assertEquals("SCRAM-SHA-256", parts[0]);
        int iterations = Integer.parseInt(parts[1]);
        byte[] salt = Base64.getDecoder().decode(parts[2]);

        // RFC 5802: SaltedPassword = Hi(password, salt, i); StoredKey = H(HMAC(SaltedPassword, "Client Key")).
        byte[] salted = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256")
                .generateSecret(new PBEKeySpec("app-secret".toCharArray(), salt, iterations, 256))
                .getEncoded();
        byte[] clientKey = hmac(salted, "Client Key");
        byte[] storedKey = MessageDigest.getInstance("SHA-256").digest(clientKey);
        assertArrayEquals(storedKey, Base64.getDecoder().decode(parts[3]));
        assertArrayEquals(hmac(salted, "Server Key"), Base64.getDecoder().decode(parts[4]));
        assertTrue(Files.readString(USERS).contains("password \"app-secret\""));
    }

    private static byte[] hmac(byte[] key, String text) throws GeneralSecurityException {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        return mac.doFinal(text.getBytes(StandardCharsets.UTF_8));
    }
}
