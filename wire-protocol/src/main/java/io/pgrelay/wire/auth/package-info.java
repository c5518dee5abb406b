/**
 * Password secrets and the password authentication exchanges pgrelay speaks on both sides: MD5 and
 * SCRAM-SHA-256 (without channel binding) toward clients, and toward PostgreSQL.
 *
 * <p>Nothing here does I/O or touches Netty: callers feed in the bodies of PasswordMessage,
 * SASLInitialResponse and SASLResponse (or AuthenticationSASLContinue and AuthenticationSASLFinal)
 * and send back what they are given. A session is used by one event loop and is not thread-safe.
 *
 * @see <a href="https://www.postgresql.org/docs/current/auth-password.html">PostgreSQL: Password
 *     Authentication</a>
 * @see <a href="https://www.postgresql.org/docs/current/sasl-authentication.html">PostgreSQL: SASL
 *     Authentication</a>
 */
package io.pgrelay.wire.auth;
