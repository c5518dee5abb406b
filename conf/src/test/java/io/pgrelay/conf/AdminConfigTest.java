package io.pgrelay.conf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code admin.listen} and {@code admin.token} keys: loopback default, token rules, no token in messages. */
class AdminConfigTest {
    private static final String TOKEN = "s3cr3t-t0ken-0123456789";

    @TempDir
    Path dir;

    private static PgRelayConfig load(Map<String, String> env, Map<String, String> flags) {
        Map<String, String> all = new HashMap<>(Map.of("primary", "127.0.0.1:5432"));
        all.putAll(flags);
        return ConfigLoader.load(Optional.empty(), env, all);
    }

    private static List<String> problems(Map<String, String> env, Map<String, String> flags) {
        return assertThrows(ConfigException.class, () -> load(env, flags)).problems();
    }

    @Test
    void defaultIsLoopbackPort6433WithoutAToken() {
        assertEquals(new AdminConfig(new HostPort("127.0.0.1", 6433), Optional.empty()), load(Map.of(), Map.of()).admin());
    }

    @Test
    void portZeroIsAllowedForTests() {
        assertEquals(0, load(Map.of(), Map.of("admin.listen", "127.0.0.1:0")).admin().listen().port());
    }

    @Test
    void aNonLoopbackAddressNeedsATokenAndTheErrorNamesTheKey() {
        List<String> problems = problems(Map.of("PGRELAY_ADMIN_LISTEN", "0.0.0.0:6433"), Map.of());
        assertEquals(1, problems.size(), problems::toString);
        String p = problems.get(0);
        assertTrue(p.startsWith("admin.token: the admin endpoint listens on 0.0.0.0:6433 (admin.listen from environment "
                + "PGRELAY_ADMIN_LISTEN) without a token"), p);
        assertTrue(p.contains("PGRELAY_ADMIN_TOKEN"), p);

        AdminConfig admin = load(Map.of("PGRELAY_ADMIN_TOKEN", TOKEN), Map.of("admin.listen", "0.0.0.0:6433")).admin();
        assertEquals(Optional.of(TOKEN), admin.token());
        assertFalse(admin.toString().contains(TOKEN), admin::toString);
    }

    @Test
    void aWeakTokenIsRefusedWithoutBeingQuoted() throws IOException {
        for (String weak : List.of("short", "has a space in it ok", "")) {
            List<String> problems = problems(Map.of("PGRELAY_ADMIN_TOKEN", weak), Map.of());
            assertEquals(1, problems.size(), problems::toString);
            assertTrue(problems.get(0).startsWith("admin.token (from environment PGRELAY_ADMIN_TOKEN): the token is not "
                    + "allowed; use at least 16"), problems::toString);
            if (!weak.isEmpty()) {
                assertFalse(problems.get(0).contains(weak), problems::toString);
            }
        }
        Path file = Files.writeString(dir.resolve("p.yaml"), "primary: 127.0.0.1\nadmin:\n  listen: '[::]:6433'\n"
                + "  token: " + TOKEN + "\n  tokn: x\n");
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(Optional.of(file), Map.of(), Map.of()));
        assertEquals(List.of("unknown key admin.tokn (from " + file + ":5); did you mean admin.token?"), e.problems());
    }

    @Test
    void aBadAddressNamesTheKey() {
        List<String> problems = problems(Map.of(), Map.of("admin.listen", "*:6433"));
        assertEquals(1, problems.size(), problems::toString);
        assertTrue(problems.get(0).startsWith("admin.listen (from command line): '*:6433' is not a valid address"),
                problems::toString);
    }
}
