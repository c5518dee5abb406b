package io.pgrelay.wire.auth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Recognising the three stored password forms, the SCRAM text format, and masking in toString. */
class PasswordSecretTest {
    private static final String KEY_A = Base64.getEncoder().encodeToString(filled(32, 0xA));
    private static final String KEY_B = Base64.getEncoder().encodeToString(filled(32, 0xB));

    @Test
    void scramVerifierIsParsed() {
        PasswordSecret secret = PasswordSecret.parse("SCRAM-SHA-256$4096:AQIDBA==$" + KEY_A + ":" + KEY_B);

        ScramSecret scram = assertInstanceOf(ScramSecret.class, secret);
        assertEquals(4096, scram.iterations());
        assertArrayEquals(new byte[] {1, 2, 3, 4}, scram.salt());
        assertArrayEquals(filled(32, 0xA), scram.storedKey());
        assertArrayEquals(filled(32, 0xB), scram.serverKey());
    }

    @Test
    void md5HashIsParsed() {
        String hash = "md5" + "0123456789abcdef".repeat(2);

        assertEquals(new Md5Secret(hash), PasswordSecret.parse(hash));
    }

    /** Only "md5" plus exactly 32 lowercase hex digits is a hash; anything close is a password. */
    @ParameterizedTest
    @ValueSource(strings = {"", "secret", "md5", "md50123456789abcdef0123456789abcde", "md50123456789ABCDEF0123456789abcdef",
            "md50123456789abcdef0123456789abcdef0", "MD50123456789abcdef0123456789abcdef", "scram-sha-256$1:AQ==$a:b",
            "SCRAM-SHA-1$4096:AQ==$a:b"})
    void anythingElseIsAPlainPassword(String text) {
        assertEquals(new PlainPassword(text), PasswordSecret.parse(text));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "SCRAM-SHA-256$",
        "SCRAM-SHA-256$4096:AQIDBA==",
        "SCRAM-SHA-256$4096:AQIDBA==$KEYA",
        "SCRAM-SHA-256$4096$AQIDBA==$KEYA:KEYB",
        "SCRAM-SHA-256$4096:AQIDBA==:x$KEYA:KEYB",
        "SCRAM-SHA-256$4096:AQIDBA==$KEYA:KEYB$",
        "SCRAM-SHA-256$:AQIDBA==$KEYA:KEYB",
        "SCRAM-SHA-256$0:AQIDBA==$KEYA:KEYB",
        "SCRAM-SHA-256$-1:AQIDBA==$KEYA:KEYB",
        "SCRAM-SHA-256$+1:AQIDBA==$KEYA:KEYB",
        "SCRAM-SHA-256$99999999999:AQIDBA==$KEYA:KEYB",
        "SCRAM-SHA-256$\u0664\u0660\u0669\u0666:AQIDBA==$KEYA:KEYB",
        "SCRAM-SHA-256$4096:$KEYA:KEYB",
        "SCRAM-SHA-256$4096:AQ*DBA==$KEYA:KEYB",
        "SCRAM-SHA-256$4096:AQIDBA==$c2hvcnQ=:KEYB",
        "SCRAM-SHA-256$4096:AQIDBA==$KEYA:KEY*",
    })
    void malformedScramVerifierIsRejected(String template) {
        String text = template.replace("KEYA", KEY_A).replace("KEYB", KEY_B);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PasswordSecret.parse(text));
        assertFalse(e.getMessage().contains(KEY_A) || e.getMessage().contains(KEY_B), e.getMessage());
        assertFalse(e.getMessage().contains("AQIDBA"), e.getMessage());
    }

    @Test
    void encodeAndParseRoundTrip() {
        ScramSecret secret = ScramSecret.fromPassword("correct horse", new byte[] {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6}, 4096);

        assertEquals(secret, PasswordSecret.parse(secret.encode()));
        assertEquals(secret.hashCode(), PasswordSecret.parse(secret.encode()).hashCode());
        assertEquals(secret.encode(), ((ScramSecret) PasswordSecret.parse(secret.encode())).encode());
    }

    @Test
    void scramSecretComparesArrayContents() {
        ScramSecret a = new ScramSecret(4096, new byte[] {1}, filled(32, 1), filled(32, 2));

        assertEquals(a, new ScramSecret(4096, new byte[] {1}, filled(32, 1), filled(32, 2)));
        assertNotEquals(a, new ScramSecret(4096, new byte[] {1}, filled(32, 1), filled(32, 3)));
        assertNotEquals(a, new ScramSecret(4097, new byte[] {1}, filled(32, 1), filled(32, 2)));
    }

    @Test
    void scramSecretCannotBeChangedThroughItsArrays() {
        byte[] salt = {1, 2, 3};
        ScramSecret secret = new ScramSecret(4096, salt, filled(32, 1), filled(32, 2));
        salt[0] = 9;
        secret.storedKey()[0] = 9;

        assertArrayEquals(new byte[] {1, 2, 3}, secret.salt());
        assertArrayEquals(filled(32, 1), secret.storedKey());
    }

    @Test
    void scramSecretRejectsBadParts() {
        assertThrows(IllegalArgumentException.class, () -> new ScramSecret(0, new byte[] {1}, filled(32, 1), filled(32, 2)));
        assertThrows(IllegalArgumentException.class, () -> new ScramSecret(1, new byte[0], filled(32, 1), filled(32, 2)));
        assertThrows(IllegalArgumentException.class, () -> new ScramSecret(1, new byte[] {1}, filled(31, 1), filled(32, 2)));
        assertThrows(IllegalArgumentException.class, () -> ScramSecret.fromPassword("p", new byte[0], 4096));
        assertThrows(IllegalArgumentException.class, () -> ScramSecret.fromPassword("p", new byte[] {1}, 0));
        assertThrows(IllegalArgumentException.class, () -> new Md5Secret("md5XYZ"));
    }

    @Test
    void toStringNeverShowsTheSecret() {
        String password = "hunter2-very-secret";
        String md5 = Md5Password.hash("alice", password);
        ScramSecret scram = ScramSecret.fromPassword(password, new byte[] {1, 2, 3, 4}, 4096);

        assertEquals("PlainPassword[***]", new PlainPassword(password).toString());
        assertEquals("Md5Secret[***]", new Md5Secret(md5).toString());
        String scramText = scram.toString();
        assertFalse(scramText.contains(password));
        assertFalse(scramText.contains(Base64.getEncoder().encodeToString(scram.storedKey())));
        assertFalse(scramText.contains(Base64.getEncoder().encodeToString(scram.serverKey())));
        assertFalse(scramText.contains("[B@"), scramText);
        assertEquals("ScramSecret[iterations=4096, ***]", scramText);
    }

    private static byte[] filled(int length, int value) {
        byte[] bytes = new byte[length];
        java.util.Arrays.fill(bytes, (byte) value);
        return bytes;
    }
}
