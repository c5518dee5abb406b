package io.pgrelay.wire.auth;

import java.util.regex.Pattern;

/**
 * An MD5 password hash as PostgreSQL stores it: {@code "md5" + hex(md5(password + user))}.
 *
 * @see <a href="https://www.postgresql.org/docs/current/auth-password.html">PostgreSQL: Password
 *     Authentication (md5)</a>
 * @see Md5Password
 */
public record Md5Secret(String hash) implements PasswordSecret {

    /** PostgreSQL's test for an MD5 hash: "md5" then exactly 32 lowercase hex digits. */
    private static final Pattern HASH = Pattern.compile("md5[0-9a-f]{32}");

    public Md5Secret {
        if (hash == null || !isHash(hash)) {
            throw new IllegalArgumentException("MD5 secret must be \"md5\" followed by 32 lowercase hex digits");
        }
    }

    static boolean isHash(String text) {
        return HASH.matcher(text).matches();
    }

    /** Masked: the hash alone is enough to log in with MD5 authentication. */
    @Override
    public String toString() {
        return "Md5Secret[***]";
    }
}
