package io.pgrelay.wire.auth;

import io.pgrelay.wire.SqlState;
import io.pgrelay.wire.WireException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Objects;

/**
 * The client side of one SCRAM-SHA-256 exchange: pgrelay logging in to PostgreSQL, with either the
 * user's password or the keys recovered from a client's own SCRAM login.
 *
 * <p>Order of use: {@link #clientFirstMessage} for SASLInitialResponse, {@link #handleServerFirst}
 * with the AuthenticationSASLContinue data, {@link #handleServerFinal} with the
 * AuthenticationSASLFinal data. No channel binding is used (gs2 header {@code n,,}), and the user
 * name is left empty as libpq does, because PostgreSQL takes it from the startup packet.
 *
 * <p>Not thread-safe; one session serves one server connection on its event loop.
 *
 * @see <a href="https://www.postgresql.org/docs/current/sasl-authentication.html">PostgreSQL: SASL
 *     Authentication</a>
 * @see <a href="https://www.rfc-editor.org/rfc/rfc5802">RFC 5802</a>
 * @see <a href="https://www.rfc-editor.org/rfc/rfc7677">RFC 7677</a>
 */
public final class ScramClientSession {
    /**
     * The highest iteration count accepted from a server. With a password, the key derivation in
     * {@link #handleServerFirst} costs time in proportion to the count (about a millisecond at
     * PostgreSQL's default 4096), so a server, or whoever answers in its place, could otherwise make
     * us spin for minutes. PostgreSQL allows any positive int for scram_iterations; this cap leaves
     * room for counts far above today's recommendations.
     */
    static final int MAX_ITERATIONS = 10_000_000;

    private static final String GS2_HEADER = "n,,";
    private static final String SERVER_FIRST = "server-first-message";
    private static final String SERVER_FINAL = "server-final-message";

    private enum State { NEW, EXPECT_SERVER_FIRST, EXPECT_SERVER_FINAL, SUCCEEDED, FAILED }

    /** Null when the keys were given; then the server's salt and iteration count are not needed. */
    private final String password;
    private final String clientNonce;
    private final String clientFirstBare;

    private byte[] clientKey;
    private byte[] serverKey;
    private byte[] expectedServerSignature;
    private State state = State.NEW;

    /**
     * @param user the name sent in {@code n=}; PostgreSQL ignores it, so the factories send an empty
     *     one, and tests send the RFC example's
     * @param clientNonce the client's nonce; fixed only by tests
     */
    ScramClientSession(String password, byte[] clientKey, byte[] serverKey, String user, String clientNonce) {
        this.password = password;
        this.clientKey = clientKey;
        this.serverKey = serverKey;
        this.clientNonce = clientNonce;
        // RFC 5802 saslname: ',' and '=' are escaped as =2C and =3D.
        this.clientFirstBare = "n=" + user.replace("=", "=3D").replace(",", "=2C") + ",r=" + clientNonce;
    }

    /**
     * Logs in with the plain password, which goes through {@link SaslPrep} as in libpq. Note that
     * {@link #handleServerFirst} then runs the key derivation, whose cost grows with the server's
     * iteration count.
     */
    public static ScramClientSession withPassword(String password, SecureRandom random) {
        Objects.requireNonNull(password, "password");
        return new ScramClientSession(password, null, null, "", Scram.nonce(random));
    }

    /**
     * Logs in with a ClientKey (from {@link ScramServerSession#clientKey()} after the client proved
     * it) and the ServerKey of the user's verifier, the same keys PostgreSQL's verifier was made from.
     */
    public static ScramClientSession withKeys(byte[] clientKey, byte[] serverKey, SecureRandom random) {
        return new ScramClientSession(null, checkKey(clientKey, "ClientKey"), checkKey(serverKey, "ServerKey"), "",
                Scram.nonce(random));
    }

    /** The client-first-message, {@code n,,n=,r=<nonce>}, to send in SASLInitialResponse. */
    public byte[] clientFirstMessage() {
        if (state != State.NEW) {
            throw new IllegalStateException("the client-first-message was already produced");
        }
        state = State.EXPECT_SERVER_FIRST;
        return Scram.bytes(GS2_HEADER + clientFirstBare);
    }

    /**
     * Reads the server-first-message and returns the client-final-message to send in SASLResponse.
     *
     * @throws WireException 08P01 if the message is malformed, its nonce does not extend ours, its
     *     iteration count is outside 1..{@value #MAX_ITERATIONS}, or it comes out of order
     */
    public byte[] handleServerFirst(byte[] serverFirstMessage) {
        expect(State.EXPECT_SERVER_FIRST, SERVER_FIRST);
        // Whatever throws below leaves the session failed; only a completed step moves it on.
        state = State.FAILED;
        String message = Scram.text(serverFirstMessage);
        String[] fields = message.split(",", -1);
        if (Scram.isMandatoryExtension(fields[0])) {
            throw new WireException(SqlState.PROTOCOL_VIOLATION, "server requires an unsupported SCRAM extension");
        }
        String nonce = Scram.attribute(fields, 0, 'r', SERVER_FIRST);
        if (!Scram.isValidNonce(nonce)) {
            throw Scram.malformed(SERVER_FIRST, "nonce must be non-empty printable ASCII without ','");
        }
        // RFC 5802: the server appends a nonce of its own; one that only echoes ours is not speaking SCRAM.
        if (!nonce.startsWith(clientNonce) || nonce.length() == clientNonce.length()) {
            throw new WireException(SqlState.PROTOCOL_VIOLATION, "SCRAM server nonce does not extend the client nonce");
        }
        byte[] salt = Scram.fromBase64(Scram.attribute(fields, 1, 's', SERVER_FIRST), SERVER_FIRST, "s=");
        if (salt.length == 0) {
            throw Scram.malformed(SERVER_FIRST, "salt is empty");
        }
        int iterations = iterations(Scram.attribute(fields, 2, 'i', SERVER_FIRST));
        if (password != null) {
            byte[] saltedPassword = Scram.saltedPassword(password, salt, iterations);
            clientKey = Scram.clientKey(saltedPassword);
            serverKey = Scram.serverKey(saltedPassword);
        }
        String withoutProof = "c=" + Scram.base64(Scram.bytes(GS2_HEADER)) + ",r=" + nonce;
        byte[] authMessage = Scram.bytes(clientFirstBare + "," + message + "," + withoutProof);
        byte[] proof = Scram.xor(clientKey, Scram.hmac(Scram.h(clientKey), authMessage));
        expectedServerSignature = Scram.hmac(serverKey, authMessage);
        state = State.EXPECT_SERVER_FINAL;
        return Scram.bytes(withoutProof + ",p=" + Scram.base64(proof));
    }

    /**
     * Checks the server-final-message; returning normally means the server proved it holds this
     * user's verifier.
     *
     * @throws WireException 08P01 if the server signature does not match, the message is malformed
     *     or out of order; for an {@code e=} error, 28P01 if it is {@code invalid-proof} and 08P01
     *     otherwise, with the server's error in the message
     */
    public void handleServerFinal(byte[] serverFinalMessage) {
        expect(State.EXPECT_SERVER_FINAL, SERVER_FINAL);
        state = State.FAILED;
        String[] fields = Scram.text(serverFinalMessage).split(",", -1);
        if (fields[0].startsWith("e=")) {
            String error = fields[0].substring(2);
            String sqlState = error.equals("invalid-proof") ? SqlState.INVALID_PASSWORD : SqlState.PROTOCOL_VIOLATION;
            throw new WireException(sqlState, "server rejected SCRAM authentication: " + error);
        }
        byte[] signature = Scram.fromBase64(Scram.attribute(fields, 0, 'v', SERVER_FINAL), SERVER_FINAL, "v=");
        if (!MessageDigest.isEqual(signature, expectedServerSignature)) {
            throw new WireException(SqlState.PROTOCOL_VIOLATION, "SCRAM server signature mismatch");
        }
        state = State.SUCCEEDED;
    }

    private static int iterations(String text) {
        if (!text.matches("[0-9]+")) {
            throw Scram.malformed(SERVER_FIRST, "i= is not a decimal number");
        }
        // Compared as text first, so that a count too long for an int is out of range, not malformed.
        long count = text.length() > 9 ? Long.MAX_VALUE : Long.parseLong(text);
        if (count < 1 || count > MAX_ITERATIONS) {
            throw new WireException(SqlState.PROTOCOL_VIOLATION,
                    "SCRAM iteration count must be between 1 and " + MAX_ITERATIONS + ", server sent " + text);
        }
        return (int) count;
    }

    private static byte[] checkKey(byte[] key, String name) {
        if (key == null || key.length != Scram.KEY_LENGTH) {
            throw new IllegalArgumentException(name + " must be " + Scram.KEY_LENGTH + " bytes, got "
                    + (key == null ? "none" : key.length));
        }
        return key.clone();
    }

    private void expect(State expected, String what) {
        if (state == State.FAILED) {
            throw new WireException(SqlState.PROTOCOL_VIOLATION, "SCRAM " + what + " after the exchange failed");
        }
        if (state != expected) {
            throw new WireException(SqlState.PROTOCOL_VIOLATION, "SCRAM " + what + " out of order");
        }
    }
}
