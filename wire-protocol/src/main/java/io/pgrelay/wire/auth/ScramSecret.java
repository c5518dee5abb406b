package io.pgrelay.wire.auth;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;

/**
 * A SCRAM-SHA-256 verifier: enough to check a client's proof, not enough to log in as the client.
 *
 * <p>Text form, as in {@code pg_authid.rolpassword}:
 * {@code SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>}, the last three in base64.
 * The arrays are copied in and out, so a secret cannot be changed after it is built.
 *
 * @see <a href="https://www.postgresql.org/docs/current/catalog-pg-authid.html">PostgreSQL:
 *     pg_authid (SCRAM-SHA-256 secret format)</a>
 * @see <a href="https://www.rfc-editor.org/rfc/rfc5802#section-3">RFC 5802 section 3</a>
 */
public record ScramSecret(int iterations, byte[] salt, byte[] storedKey, byte[] serverKey)
        implements PasswordSecret {

    static final String PREFIX = "SCRAM-SHA-256$";

    private static final String FORMAT =
            "expected SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>";

    public ScramSecret {
        checkParameters(iterations, salt);
        storedKey = checkKey(storedKey, "StoredKey");
        serverKey = checkKey(serverKey, "ServerKey");
        salt = salt.clone();
    }

    /**
     * Derives the verifier PostgreSQL would store for this password, salt and iteration count.
     *
     * <p>The password goes through SASLprep (RFC 4013) first, as PostgreSQL does it: a non-ASCII
     * password is mapped and NFKC-normalized, and one that SASLprep rejects is used as it is. See
     * {@link SaslPrep} for the details and where it approximates PostgreSQL's Unicode 3.2 tables.
     */
    public static ScramSecret fromPassword(String password, byte[] salt, int iterations) {
        Objects.requireNonNull(password, "password");
        // Before the key derivation, which would reject these with a less helpful message.
        checkParameters(iterations, salt);
        byte[] saltedPassword = Scram.saltedPassword(password, salt, iterations);
        byte[] storedKey = Scram.h(Scram.clientKey(saltedPassword));
        byte[] serverKey = Scram.serverKey(saltedPassword);
        return new ScramSecret(iterations, salt, storedKey, serverKey);
    }

    /** Parses the text form; {@link PasswordSecret#parse} has already seen the prefix. */
    static ScramSecret parse(String text) {
        String[] halves = text.substring(PREFIX.length()).split("\\$", -1);
        if (halves.length != 2) {
            throw new IllegalArgumentException("SCRAM secret: " + FORMAT);
        }
        String[] head = halves[0].split(":", -1);
        String[] keys = halves[1].split(":", -1);
        if (head.length != 2 || keys.length != 2) {
            throw new IllegalArgumentException("SCRAM secret: " + FORMAT);
        }
        return new ScramSecret(
                parseIterations(head[0]), decode(head[1], "salt"), decode(keys[0], "StoredKey"), decode(keys[1], "ServerKey"));
    }

    /** The text form PostgreSQL stores and {@link PasswordSecret#parse} reads back. */
    public String encode() {
        Base64.Encoder b64 = Base64.getEncoder();
        return PREFIX + iterations + ":" + b64.encodeToString(salt) + "$"
                + b64.encodeToString(storedKey) + ":" + b64.encodeToString(serverKey);
    }

    @Override
    public byte[] salt() {
        return salt.clone();
    }

    @Override
    public byte[] storedKey() {
        return storedKey.clone();
    }

    @Override
    public byte[] serverKey() {
        return serverKey.clone();
    }

    @Override
    public boolean equals(Object o) {
        // Keys compared in constant time in case someone uses equals() to check a secret.
        return o instanceof ScramSecret other
                && iterations == other.iterations
                && Arrays.equals(salt, other.salt)
                && MessageDigest.isEqual(storedKey, other.storedKey)
                && MessageDigest.isEqual(serverKey, other.serverKey);
    }

    @Override
    public int hashCode() {
        return Objects.hash(iterations, Arrays.hashCode(salt), Arrays.hashCode(storedKey), Arrays.hashCode(serverKey));
    }

    /** Masked: the ServerKey lets anyone impersonate the server to this user. */
    @Override
    public String toString() {
        return "ScramSecret[iterations=" + iterations + ", ***]";
    }

    private static void checkParameters(int iterations, byte[] salt) {
        if (iterations < 1) {
            throw new IllegalArgumentException("SCRAM secret: iteration count must be at least 1, got " + iterations);
        }
        if (salt == null || salt.length == 0) {
            throw new IllegalArgumentException("SCRAM secret: salt must not be empty");
        }
    }

    private static byte[] checkKey(byte[] key, String name) {
        if (key == null || key.length != Scram.KEY_LENGTH) {
            throw new IllegalArgumentException("SCRAM secret: " + name + " must be " + Scram.KEY_LENGTH
                    + " bytes, got " + (key == null ? "none" : key.length));
        }
        return key.clone();
    }

    private static int parseIterations(String text) {
        // Only ASCII digits: Integer.parseInt would also take a sign and non-ASCII digits.
        if (!text.matches("[0-9]+")) {
            throw new IllegalArgumentException("SCRAM secret: iteration count is not a decimal number; " + FORMAT);
        }
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("SCRAM secret: iteration count exceeds " + Integer.MAX_VALUE);
        }
    }

    private static byte[] decode(String text, String name) {
        try {
            return Base64.getDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            // The JDK's message quotes the offending character; a secret's bytes stay out of logs.
            throw new IllegalArgumentException("SCRAM secret: " + name + " is not valid base64");
        }
    }
}
