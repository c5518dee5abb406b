package io.pgrelay.wire.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.security.SecureRandom;
import org.junit.jupiter.api.Test;

/** SASLprep as PostgreSQL's pg_saslprep applies it, RFC 4013 section 3 examples included. */
class SaslPrepTest {
    private static final byte[] SALT = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

    @Test
    void asciiIsUsedAsItIsEvenWithControlCharacters() {
        assertEquals("user", SaslPrep.prepare("user"));
        assertEquals("a\u0007b\tc\u007F", SaslPrep.prepare("a\u0007b\tc\u007F"));
        assertEquals("", SaslPrep.prepare(""));
    }

    @Test
    void mapsSoftHyphenToNothing() {
        assertEquals("IX", SaslPrep.prepare("I\u00ADX"));
    }

    @Test
    void mapsNonAsciiSpacesToSpace() {
        assertEquals("a b", SaslPrep.prepare("a\u00A0b"));
        assertEquals("a b", SaslPrep.prepare("a\u3000b"));
    }

    @Test
    void normalizesWithNfkc() {
        assertEquals("a", SaslPrep.prepare("\u00AA"));
        assertEquals("IX", SaslPrep.prepare("\u2168"));
        assertEquals("fish", SaslPrep.prepare("\uFB01sh"));
        assertEquals("\u00E9", SaslPrep.prepare("e\u0301"));
    }

    @Test
    void prohibitedCharacterKeepsTheOriginal() {
        assertEquals("\u00E9\u0007", SaslPrep.prepare("\u00E9\u0007"));
        // U+E000 is private use (C.3); the soft hyphen shows that no mapping was applied either.
        assertEquals("\u00AD\uE000", SaslPrep.prepare("\u00AD\uE000"));
        assertEquals("a\uD800\u00AD", SaslPrep.prepare("a\uD800\u00AD"));
    }

    @Test
    void unassignedCodePointKeepsTheOriginal() {
        assertEquals("\u0378\u00AD", SaslPrep.prepare("\u0378\u00AD"));
    }

    @Test
    void bidiViolationKeepsTheOriginal() {
        // RandALCat and LCat together (RFC 4013 section 3, example 6 is the same idea).
        assertEquals("\u0627a\u0627\u00AD", SaslPrep.prepare("\u0627a\u0627\u00AD"));
        // RandALCat not at both ends (RFC 4013 section 3, example 7).
        assertEquals("\u06271\u00AD", SaslPrep.prepare("\u06271\u00AD"));
        assertEquals("\u06271\u0628", SaslPrep.prepare("\u0627\u00AD1\u0628"));
    }

    @Test
    void emptyAfterMappingKeepsTheOriginal() {
        // pg_saslprep: "don't allow empty password", so the caller uses the original bytes.
        assertEquals("\u00AD", SaslPrep.prepare("\u00AD"));
    }

    @Test
    void verifierOfPreparedPasswordMatchesPlainOne() {
        assertEquals(ScramSecret.fromPassword("fish", SALT, 4096), ScramSecret.fromPassword("\uFB01sh", SALT, 4096));
        assertEquals(ScramSecret.fromPassword("a b", SALT, 4096), ScramSecret.fromPassword("a\u00A0b", SALT, 4096));
        assertNotEquals(ScramSecret.fromPassword("fish", SALT, 4096), ScramSecret.fromPassword("f\u00E9sh", SALT, 4096));
    }

    @Test
    void clientSessionPreparesThePassword() {
        SecureRandom random = new SecureRandom();
        ScramServerSession server = new ScramServerSession(ScramSecret.fromPassword("fish", SALT, 4096), random);

        ScramExchangeTest.run(ScramClientSession.withPassword("\uFB01sh", random), server);
    }
}
