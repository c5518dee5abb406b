package io.pgrelay.wire.auth;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * MD5 password authentication: the stored hash, and the salted response a client sends in
 * PasswordMessage after AuthenticationMD5Password.
 *
 * <p>The response is {@code "md5" + hex(md5(hex(md5(password + user)) + salt))}, so whoever holds
 * the stored hash can answer the challenge without the password. That is what lets pgrelay log in to
 * PostgreSQL with a hash from its users file, and also why such a hash must be kept as secret as a
 * password.
 *
 * @see <a href="https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-START-UP">
 *     PostgreSQL: Start-up (AuthenticationMD5Password)</a>
 * @see <a href="https://www.postgresql.org/docs/current/auth-password.html">PostgreSQL: Password
 *     Authentication</a>
 */
public final class Md5Password {
    /** AuthenticationMD5Password carries a 4-byte salt. */
    private static final int SALT_LENGTH = 4;

    private static final String PREFIX = "md5";

    private Md5Password() {
    }

    /** The hash PostgreSQL stores: {@code "md5" + hex(md5(password + user))}, both in UTF-8. */
    public static String hash(String user, String password) {
        return PREFIX + md5Hex(utf8(password), utf8(user));
    }

    /**
     * The PasswordMessage body (without the trailing NUL) answering a challenge with this salt.
     *
     * @param md5Hash a stored hash as returned by {@link #hash}
     * @param salt the 4 bytes from AuthenticationMD5Password
     */
    public static String response(String md5Hash, byte[] salt) {
        if (!Md5Secret.isHash(md5Hash)) {
            throw new IllegalArgumentException("MD5 hash must be \"md5\" followed by 32 lowercase hex digits");
        }
        if (salt.length != SALT_LENGTH) {
            throw new IllegalArgumentException("MD5 salt must be " + SALT_LENGTH + " bytes, got " + salt.length);
        }
        return PREFIX + md5Hex(md5Hash.substring(PREFIX.length()).getBytes(StandardCharsets.US_ASCII), salt);
    }

    /**
     * Whether a client's PasswordMessage answers the challenge, compared in constant time so the
     * time taken tells an attacker nothing about how much of a guess was right.
     */
    public static boolean verify(String md5Hash, byte[] salt, String clientResponse) {
        byte[] expected = response(md5Hash, salt).getBytes(StandardCharsets.US_ASCII);
        return clientResponse != null && MessageDigest.isEqual(expected, utf8(clientResponse));
    }

    private static String md5Hex(byte[] first, byte[] second) {
        try {
            MessageDigest md5 = MessageDigest.getInstance("MD5");
            md5.update(first);
            md5.update(second);
            return HexFormat.of().formatHex(md5.digest());
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JDK lacks MD5", e);
        }
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
