package io.pgrelay.server.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.pgrelay.conf.AuthConfig;
import io.pgrelay.conf.AuthMethod;
import io.pgrelay.conf.AuthRule;
import io.pgrelay.wire.auth.Md5Password;
import io.pgrelay.wire.auth.Md5Secret;
import io.pgrelay.wire.auth.PlainPassword;
import io.pgrelay.wire.auth.ScramClientSession;
import io.pgrelay.wire.auth.ScramSecret;
import io.pgrelay.wire.auth.ScramServerSession;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Rule matching (first match wins, as in pg_hba.conf) and the users file secrets. */
class ClientAuthTest {
    private static final SecureRandom RANDOM = new SecureRandom();
    static final ScramSecret CAROL_SECRET =
            ScramSecret.fromPassword("carol-pw", "carol salt bytes".getBytes(StandardCharsets.US_ASCII), 4096);

    /** alice: plaintext, bob: md5 hash, carol: SCRAM verifier. */
    static Map<String, String> users() {
        return Map.of(
                "alice", "alice-pw",
                "bob", Md5Password.hash("bob", "bob-pw"),
                "carol", CAROL_SECRET.encode());
    }

    static ClientAuth auth(AuthRule... rules) {
        return new ClientAuth(new AuthConfig(Optional.empty(), users(), List.of(rules)));
    }

    static InetAddress ip(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void firstMatchingRuleWins() {
        ClientAuth auth = auth(
                new AuthRule("127.0.0.1/32", "all", "all", AuthMethod.TRUST),
                new AuthRule("all", "all", "all", AuthMethod.SCRAM_SHA_256),
                new AuthRule("127.0.0.1/32", "all", "alice", AuthMethod.REJECT));

        assertEquals(AuthMethod.TRUST, auth.methodFor(ip("127.0.0.1"), "shop", "alice"));
        assertEquals(AuthMethod.SCRAM_SHA_256, auth.methodFor(ip("10.0.0.1"), "shop", "alice"));
    }

    @Test
    void orderDecidesNotSpecificity() {
        ClientAuth auth = auth(
                new AuthRule("all", "all", "all", AuthMethod.MD5),
                new AuthRule("127.0.0.1/32", "shop", "alice", AuthMethod.TRUST));

        assertEquals(AuthMethod.MD5, auth.methodFor(ip("127.0.0.1"), "shop", "alice"));
    }

    @Test
    void noMatchingRuleRejects() {
        ClientAuth auth = auth(new AuthRule("127.0.0.1/32", "shop", "alice", AuthMethod.TRUST));

        assertEquals(AuthMethod.REJECT, auth.methodFor(ip("10.0.0.1"), "shop", "alice"));
        assertEquals(AuthMethod.REJECT, auth.methodFor(ip("127.0.0.1"), "other", "alice"));
        assertEquals(AuthMethod.REJECT, auth.methodFor(ip("127.0.0.1"), "shop", "bob"));
        assertEquals(AuthMethod.REJECT, auth(new AuthRule[0]).methodFor(ip("127.0.0.1"), "shop", "alice"));
    }

    @ParameterizedTest(name = "{0} in {1}: {2}")
    @CsvSource({
            "10.1.2.3,        10.0.0.0/8,      true",
            "11.0.0.1,        10.0.0.0/8,      false",
            "192.168.1.200,   192.168.0.0/23,  true",
            "192.168.2.1,     192.168.0.0/23,  false",
            "172.16.5.4,      172.16.5.4/32,   true",
            "172.16.5.5,      172.16.5.4/32,   false",
            "8.8.8.8,         0.0.0.0/0,       true",
            "10.0.0.7,        10.0.0.1/24,     true",
            "::1,             ::1/128,         true",
            "::2,             ::1/128,         false",
            "fd12:3456::1,    fd00::/8,        true",
            "fe80::1,         fd00::/8,        false",
            "2001:db8::1,     ::/0,            true",
            "127.0.0.1,       ::1/128,         false",
            "::1,             127.0.0.1/32,    false",
            "10.1.2.3,        all,             true",
            "fe80::1,         all,             true",
    })
    void addressMatching(String client, String range, boolean matches) {
        ClientAuth auth = auth(new AuthRule(range, "all", "all", AuthMethod.TRUST));

        assertEquals(matches ? AuthMethod.TRUST : AuthMethod.REJECT, auth.methodFor(ip(client), "shop", "alice"));
    }

    @Test
    void databaseAndUserMatchExactlyOrAll() {
        ClientAuth auth = auth(
                new AuthRule("all", "shop", "alice", AuthMethod.TRUST),
                new AuthRule("all", "shop", "all", AuthMethod.MD5),
                new AuthRule("all", "all", "carol", AuthMethod.SCRAM_SHA_256));
        InetAddress client = ip("10.0.0.1");

        assertEquals(AuthMethod.TRUST, auth.methodFor(client, "shop", "alice"));
        assertEquals(AuthMethod.MD5, auth.methodFor(client, "shop", "bob"));
        assertEquals(AuthMethod.MD5, auth.methodFor(client, "shop", "carol"));
        assertEquals(AuthMethod.SCRAM_SHA_256, auth.methodFor(client, "other", "carol"));
        assertEquals(AuthMethod.REJECT, auth.methodFor(client, "other", "alice"));
        assertEquals(AuthMethod.REJECT, auth.methodFor(client, "Shop", "alice"), "names are case-sensitive");
        assertEquals(AuthMethod.REJECT, auth.methodFor(client, "shop2", "bobby"), "no prefix matching");
    }

    @Test
    void usersFileSecretsAreParsedByForm() {
        ClientAuth auth = auth(new AuthRule("all", "all", "all", AuthMethod.TRUST));

        assertEquals(new PlainPassword("alice-pw"), auth.secret("alice"));
        assertEquals(new Md5Secret(Md5Password.hash("bob", "bob-pw")), auth.secret("bob"));
        assertEquals(CAROL_SECRET, auth.secret("carol"));
        assertNull(auth.secret("mallory"));
    }

    @Test
    void malformedScramSecretIsRefusedWithoutRepeatingIt() {
        AuthConfig config = new AuthConfig(Optional.empty(), Map.of("dave", "SCRAM-SHA-256$4096:c2FsdA==$bm9wZQ=="),
                List.of(new AuthRule("all", "all", "all", AuthMethod.TRUST)));

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new ClientAuth(config));
        assertEquals(-1, e.getMessage().indexOf("bm9wZQ"), e.getMessage());
    }

    @Test
    void scramSecretIsTheStoredVerifier() {
        ClientAuth auth = auth();

        assertSame(auth.secret("carol"), auth.scramSecret("carol"));
        assertEquals(CAROL_SECRET, auth.scramSecret("carol"));
    }

    @Test
    void scramSecretIsDerivedOnceForAPlaintextPassword() {
        ClientAuth auth = auth();

        ScramSecret derived = auth.scramSecret("alice");

        assertSame(derived, auth.scramSecret("alice"), "derived once and cached");
        assertEquals(4096, derived.iterations());
        assertEquals(16, derived.salt().length);
        // The derived verifier accepts the plaintext password.
        ScramServerSession server = new ScramServerSession(derived, RANDOM);
        ScramClientSession client = ScramClientSession.withPassword("alice-pw", RANDOM);
        client.handleServerFinal(server.handleClientFinal(client.handleServerFirst(server.handleClientFirst(client.clientFirstMessage()))));
    }

    @Test
    void noScramSecretForMd5OnlyOrUnknownUsers() {
        ClientAuth auth = auth();

        assertNull(auth.scramSecret("bob"));
        assertNull(auth.scramSecret("mallory"));
    }

    @Test
    void derivedSecretsUseARandomSalt() {
        assertNotEquals(auth().scramSecret("alice"), auth().scramSecret("alice"));
    }
}
