package io.pgrelay.wire.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** MD5 hashes and challenge responses, checked against an independent MD5 computation. */
class Md5PasswordTest {
    private static final byte[] SALT = {0x01, (byte) 0xFE, 0x7F, 0x00};

    /** The literal is hashlib.md5(b'secretpostgres').hexdigest(), as computed by Python. */
    @Test
    void hashMatchesPostgresFormat() {
        assertEquals("md553f48b7c4b76a86ce72276c5755f217d", Md5Password.hash("postgres", "secret"));
        assertEquals("md5" + md5Hex(utf8("secretpostgres")), Md5Password.hash("postgres", "secret"));
    }

    @Test
    void responseIsMd5OfHexHashAndSalt() {
        String hash = Md5Password.hash("postgres", "secret");
        byte[] input = concat(utf8(hash.substring(3)), SALT);

        assertEquals("md5" + md5Hex(input), Md5Password.response(hash, SALT));
    }

    @Test
    void responseVerifies() {
        String hash = Md5Password.hash("alice", "wonderland");
        String response = Md5Password.response(hash, SALT);

        assertTrue(Md5Password.verify(hash, SALT, response));
        assertFalse(Md5Password.verify(hash, new byte[] {1, 2, 3, 4}, response));
        assertFalse(Md5Password.verify(Md5Password.hash("alice", "wonderlanD"), SALT, response));
        assertFalse(Md5Password.verify(hash, SALT, response.substring(0, 34)));
        assertFalse(Md5Password.verify(hash, SALT, ""));
        assertFalse(Md5Password.verify(hash, SALT, null));
    }

    @Test
    void userAndPasswordAreHashedAsUtf8() {
        assertEquals("md5" + md5Hex(utf8("pässwörtbjörn")), Md5Password.hash("björn", "pässwört"));
    }

    @Test
    void badInputsAreRejected() {
        String hash = Md5Password.hash("postgres", "secret");

        assertThrows(IllegalArgumentException.class, () -> Md5Password.response("secret", SALT));
        assertThrows(IllegalArgumentException.class, () -> Md5Password.response(hash, new byte[3]));
    }

    private static String md5Hex(byte[] input) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(input));
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
