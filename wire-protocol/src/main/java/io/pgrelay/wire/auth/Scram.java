package io.pgrelay.wire.auth;

import io.pgrelay.wire.SqlState;
import io.pgrelay.wire.WireException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;

/** SCRAM-SHA-256 primitives (RFC 5802 section 2.2) and attribute parsing shared by both sessions. */
final class Scram {
    /** Length of SHA-256 output, and so of every SCRAM key, signature and proof. */
    static final int KEY_LENGTH = 32;

    /** Random bytes per nonce; PostgreSQL uses 18 (SCRAM_RAW_NONCE_LEN) on both sides. */
    private static final int NONCE_BYTES = 18;

    private static final byte[] CLIENT_KEY = ascii("Client Key");
    private static final byte[] SERVER_KEY = ascii("Server Key");

    private Scram() {
    }

    /**
     * SaltedPassword := Hi(Normalize(password), salt, i), which is PBKDF2-HMAC-SHA256 with a 32-byte
     * output.
     *
     * <p>Normalize is SASLprep as PostgreSQL applies it ({@link SaslPrep}), which keeps the password
     * as it is where SASLprep fails. The JDK's PBKDF2 encodes the {@code char[]} as UTF-8, turning a
     * lone surrogate into {@code ?} as {@code String.getBytes} does.
     */
    static byte[] saltedPassword(String password, byte[] salt, int iterations) {
        PBEKeySpec spec = new PBEKeySpec(SaslPrep.prepare(password).toCharArray(), salt, iterations, KEY_LENGTH * 8);
        try {
            return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK lacks PBKDF2WithHmacSHA256", e);
        } finally {
            spec.clearPassword();
        }
    }

    static byte[] clientKey(byte[] saltedPassword) {
        return hmac(saltedPassword, CLIENT_KEY);
    }

    static byte[] serverKey(byte[] saltedPassword) {
        return hmac(saltedPassword, SERVER_KEY);
    }

    /** H(data): SHA-256. */
    static byte[] h(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK lacks SHA-256", e);
        }
    }

    static byte[] hmac(byte[] key, byte[] data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK lacks HmacSHA256", e);
        }
    }

    static byte[] xor(byte[] a, byte[] b) {
        byte[] out = new byte[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = (byte) (a[i] ^ b[i]);
        }
        return out;
    }

    /** A fresh nonce: base64 never contains ',' and is printable, as RFC 5802 requires. */
    static String nonce(SecureRandom random) {
        byte[] raw = new byte[NONCE_BYTES];
        random.nextBytes(raw);
        return Base64.getEncoder().encodeToString(raw);
    }

    /** RFC 5802 "printable": %x21-2B / %x2D-7E, i.e. visible ASCII except ','. */
    static boolean isValidNonce(String nonce) {
        if (nonce.isEmpty()) {
            return false;
        }
        for (int i = 0; i < nonce.length(); i++) {
            char c = nonce.charAt(i);
            if (c < 0x21 || c > 0x7E || c == ',') {
                return false;
            }
        }
        return true;
    }

    /**
     * Message bytes as a string with one char per byte. SCRAM's syntax is ASCII, but the AuthMessage
     * that both sides sign must repeat the bytes exactly, and ISO-8859-1 round-trips any byte,
     * including a user name in some other encoding.
     */
    static String text(byte[] message) {
        return new String(message, StandardCharsets.ISO_8859_1);
    }

    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.ISO_8859_1);
    }

    static String base64(byte[] data) {
        return Base64.getEncoder().encodeToString(data);
    }

    /** Decodes a base64 attribute value; a bad value is the peer's protocol violation. */
    static byte[] fromBase64(String value, String message, String attribute) {
        try {
            return Base64.getDecoder().decode(value);
        } catch (IllegalArgumentException e) {
            throw malformed(message, attribute + " is not valid base64");
        }
    }

    /**
     * The value of attribute {@code name} in {@code field}, which must read {@code name=value}.
     * RFC 5802 fixes the order of attributes, so each is expected at its position.
     */
    static String attribute(String[] fields, int index, char name, String message) {
        if (index >= fields.length) {
            throw malformed(message, "attribute " + name + "= is missing");
        }
        String field = fields[index];
        if (field.length() < 2 || field.charAt(0) != name || field.charAt(1) != '=') {
            throw malformed(message, "expected attribute " + name + "= at position " + (index + 1));
        }
        return field.substring(2);
    }

    /** Whether a field is the reserved "m=" mandatory extension, which no one defines yet. */
    static boolean isMandatoryExtension(String field) {
        return field.startsWith("m=");
    }

    static WireException malformed(String message, String detail) {
        return new WireException(SqlState.PROTOCOL_VIOLATION, "malformed SCRAM " + message + ": " + detail);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
