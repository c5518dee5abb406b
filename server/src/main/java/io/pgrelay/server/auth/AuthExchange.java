package io.pgrelay.server.auth;

import io.netty.buffer.ByteBuf;
import io.pgrelay.conf.AuthMethod;
import io.pgrelay.pool.BackendCredentials;
import io.pgrelay.wire.SqlState;
import io.pgrelay.wire.WireException;
import io.pgrelay.wire.auth.Md5Password;
import io.pgrelay.wire.auth.Md5Secret;
import io.pgrelay.wire.auth.PasswordSecret;
import io.pgrelay.wire.auth.PlainPassword;
import io.pgrelay.wire.auth.ScramSecret;
import io.pgrelay.wire.auth.ScramServerSession;
import io.pgrelay.wire.codec.Frames;
import io.pgrelay.wire.message.backend.BackendMessage;
import java.net.InetAddress;
import java.util.List;

/**
 * One client's authentication: the request pgrelay sends, the client's answers, and at the end
 * the credentials pgrelay will present to PostgreSQL on that client's behalf.
 *
 * @see <a href="https://www.postgresql.org/docs/current/auth-password.html">Password authentication</a>
 */
public final class AuthExchange {
    private enum Step { MD5, SCRAM_FIRST, SCRAM_FINAL, DONE }

    private final ClientAuth auth;
    private final String user;
    private final PasswordSecret secret;
    private Step step;
    private byte[] md5Salt;
    private ScramServerSession scram;
    private ScramSecret scramSecret;
    private BackendCredentials credentials = BackendCredentials.None.INSTANCE;

    public AuthExchange(ClientAuth auth, String user) {
        this.auth = auth;
        this.user = user;
        this.secret = auth.secret(user);
    }

    /**
     * Starts the exchange for a client at {@code address}.
     *
     * @return the authentication request to send, or null when the client is already in (trust)
     * @throws WireException 28000 when a rule rejects the connection
     */
    public BackendMessage start(InetAddress address, String database) {
        AuthMethod method = auth.methodFor(address, database, user);
        switch (method) {
            case REJECT -> throw new WireException(SqlState.INVALID_AUTHORIZATION_SPECIFICATION,
                    "pgrelay auth rules reject connection for host \"" + address.getHostAddress() + "\", user \""
                            + user + "\", database \"" + database + "\"");
            case TRUST -> {
                credentials = credentialsFromFile();
                step = Step.DONE;
                return null;
            }
            case MD5 -> {
                // As in PostgreSQL: a user whose secret is a SCRAM verifier is asked for SCRAM even under md5.
                if (secret instanceof ScramSecret) {
                    return startScram();
                }
                md5Salt = new byte[4];
                auth.random().nextBytes(md5Salt);
                step = Step.MD5;
                return new BackendMessage.AuthenticationMD5Password(md5Salt);
            }
            case SCRAM_SHA_256 -> {
                return startScram();
            }
        }
        throw new IllegalStateException("unhandled method " + method);
    }

    /**
     * Handles a PasswordMessage / SASLInitialResponse / SASLResponse ('p', whole message at {@code start}).
     *
     * @return the next message to send, or null when authentication succeeded
     * @throws WireException 28P01 on a wrong password, 08P01 on a malformed message
     */
    public BackendMessage onPasswordMessage(ByteBuf buf, int start, int length) {
        int body = start + 5;
        int end = start + length;
        switch (step) {
            case MD5 -> {
                String response = Frames.readCString(buf, body, end);
                String hash = md5HashOf(secret);
                if (hash == null || !Md5Password.verify(hash, md5Salt, response)) {
                    throw failed();
                }
                credentials = credentialsFromFile();
                step = Step.DONE;
                return null;
            }
            case SCRAM_FIRST -> {
                int mechanismEnd = Frames.cStringEnd(buf, body, end);
                String mechanism = Frames.readCString(buf, body, end);
                if (!mechanism.equals(ScramServerSession.MECHANISM)) {
                    throw new WireException(SqlState.PROTOCOL_VIOLATION,
                            "client selected an invalid SASL authentication mechanism: " + mechanism);
                }
                int dataStart = mechanismEnd + 5;
                int dataLength = dataStart <= end ? buf.getInt(mechanismEnd + 1) : -1;
                // Compared with what is left rather than summed, so a huge length cannot overflow.
                if (dataLength < 0 || dataLength > end - dataStart) {
                    throw new WireException(SqlState.PROTOCOL_VIOLATION, "malformed SASLInitialResponse message");
                }
                byte[] data = new byte[dataLength];
                buf.getBytes(dataStart, data);
                step = Step.SCRAM_FINAL;
                return new BackendMessage.AuthenticationSASLContinue(scram.handleClientFirst(data));
            }
            case SCRAM_FINAL -> {
                byte[] data = new byte[end - body];
                buf.getBytes(body, data);
                byte[] serverFinal;
                try {
                    serverFinal = scram.handleClientFinal(data);
                } catch (WireException e) {
                    throw SqlState.INVALID_PASSWORD.equals(e.sqlState()) ? failed() : e;
                }
                credentials = secret instanceof PlainPassword plain
                        ? new BackendCredentials.Password(plain.password())
                        : new BackendCredentials.ScramKeys(scram.clientKey(), scramSecret.serverKey());
                step = Step.DONE;
                return new BackendMessage.AuthenticationSASLFinal(serverFinal);
            }
            default -> throw new WireException(SqlState.PROTOCOL_VIOLATION, "unexpected password message");
        }
    }

    /** True once the client is authenticated. */
    public boolean done() {
        return step == Step.DONE;
    }

    /** What to present to PostgreSQL for this client; valid once {@link #done()}. */
    public BackendCredentials credentials() {
        return credentials;
    }

    private BackendMessage startScram() {
        scramSecret = auth.scramSecret(user);
        // Unknown users and md5-only users get a full exchange that fails, so neither shows.
        scram = scramSecret != null
                ? new ScramServerSession(scramSecret, auth.random())
                : ScramServerSession.mock(user, auth.mockSecret(), auth.random());
        step = Step.SCRAM_FIRST;
        return new BackendMessage.AuthenticationSASL(List.of(ScramServerSession.MECHANISM));
    }

    private String md5HashOf(PasswordSecret s) {
        return switch (s) {
            case PlainPassword p -> Md5Password.hash(user, p.password());
            case Md5Secret m -> m.hash();
            case null, default -> null;
        };
    }

    private BackendCredentials credentialsFromFile() {
        return switch (secret) {
            case PlainPassword p -> new BackendCredentials.Password(p.password());
            case Md5Secret m -> new BackendCredentials.Md5Hash(m.hash());
            case null, default -> BackendCredentials.None.INSTANCE;
        };
    }

    private WireException failed() {
        return new WireException(SqlState.INVALID_PASSWORD, "password authentication failed for user \"" + user + "\"");
    }
}
