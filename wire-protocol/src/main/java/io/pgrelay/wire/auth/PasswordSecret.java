package io.pgrelay.wire.auth;

/**
 * What pgrelay knows about a user's password, in the three forms PostgreSQL itself stores in
 * {@code pg_authid.rolpassword}: a SCRAM-SHA-256 verifier, an MD5 hash, or the plain text.
 *
 * @see <a href="https://www.postgresql.org/docs/current/catalog-pg-authid.html">PostgreSQL:
 *     pg_authid (rolpassword formats)</a>
 */
public sealed interface PasswordSecret permits PlainPassword, Md5Secret, ScramSecret {

    /**
     * Reads a secret as PostgreSQL writes it: {@code SCRAM-SHA-256$...} is a SCRAM verifier,
     * {@code md5} plus 32 lowercase hex digits is an MD5 hash, anything else is a plain password.
     *
     * @throws IllegalArgumentException if the text claims to be a SCRAM verifier but is malformed;
     *     PostgreSQL would silently treat it as a plain password, but in a users file it is a typo
     *     worth reporting. The message says what is wrong without repeating the secret.
     */
    static PasswordSecret parse(String text) {
        if (text.startsWith(ScramSecret.PREFIX)) {
            return ScramSecret.parse(text);
        }
        if (Md5Secret.isHash(text)) {
            return new Md5Secret(text);
        }
        return new PlainPassword(text);
    }
}
