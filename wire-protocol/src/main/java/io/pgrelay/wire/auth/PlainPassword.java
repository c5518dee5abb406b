package io.pgrelay.wire.auth;

import java.util.Objects;

/**
 * A password kept in plain text, which can answer any authentication method.
 *
 * @see <a href="https://www.postgresql.org/docs/current/auth-password.html">PostgreSQL: Password
 *     Authentication</a>
 */
public record PlainPassword(String password) implements PasswordSecret {

    public PlainPassword {
        Objects.requireNonNull(password, "password");
    }

    /** Masked, so that a secret never reaches a log line through string concatenation. */
    @Override
    public String toString() {
        return "PlainPassword[***]";
    }
}
