package io.pgrelay.wire.auth;

import io.pgrelay.wire.SqlState;
import io.pgrelay.wire.WireException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Objects;

/**
 * The server side of one SCRAM-SHA-256 exchange: pgrelay checking a client's password against a
 * stored verifier, as PostgreSQL does after sending AuthenticationSASL.
 *
 * <p>No channel binding is offered, so only {@code SCRAM-SHA-256} (never {@code -PLUS}) is
 * advertised. The user name in the client-first-message is ignored: as in PostgreSQL, the user is
 * the one from the startup packet, which the caller used to pick the secret. After a successful
 * exchange {@link #clientKey()} holds the client's ClientKey, which lets pgrelay log in to PostgreSQL
 * as this user (see {@link ScramClientSession#withKeys}) without ever learning the password.
 *
 * <p>Not thread-safe; one session serves one client connection on its event loop.
 *
 * @see <a href="https://www.postgresql.org/docs/current/sasl-authentication.html">PostgreSQL: SASL
 *     Authentication</a>
 * @see <a href="https://www.rfc-editor.org/rfc/rfc5802">RFC 5802</a>
 * @see <a href="https://www.rfc-editor.org/rfc/rfc7677">RFC 7677</a>
 */
public final class ScramServerSession {
    /** The SASL mechanism name to list in AuthenticationSASL. */
    public static final String MECHANISM = "SCRAM-SHA-256";

    /** PostgreSQL's default scram_iterations, so a mock exchange looks like a real one. */
    private static final int MOCK_ITERATIONS = 4096;

    /** PostgreSQL's salt length (SCRAM_DEFAULT_SALT_LEN). */
    private static final int MOCK_SALT_LENGTH = 16;

    private static final String CLIENT_FIRST = "client-first-message";
    private static final String CLIENT_FINAL = "client-final-message";

    private enum State { EXPECT_CLIENT_FIRST, EXPECT_CLIENT_FINAL, SUCCEEDED, FAILED }

    private final ScramSecret secret;
    private final String serverNonce;
    private final boolean doomed;

    private State state = State.EXPECT_CLIENT_FIRST;
    private String gs2Header;
    private String clientFirstBare;
    private String serverFirst;
    private String nonce;
    private byte[] clientKey;

    /** A session checking the client against {@code secret}, with a nonce drawn from {@code random}. */
    public ScramServerSession(ScramSecret secret, SecureRandom random) {
        this(secret, Scram.nonce(random), false);
    }

    /**
     * @param serverNonce the server's half of the nonce; fixed only by tests
     * @param doomed fail the proof whatever the client sends
     */
    ScramServerSession(ScramSecret secret, String serverNonce, boolean doomed) {
        this.secret = Objects.requireNonNull(secret, "secret");
        this.serverNonce = serverNonce;
        this.doomed = doomed;
    }

    /**
     * A session for a user that does not exist. It runs the whole exchange with a made-up secret
     * and fails at the proof with the same error as a wrong password, so that the answer does not
     * reveal which user names exist.
     *
     * <p>Its salt is derived from the user name and {@code mockSecret} (a random value kept for the
     * life of the process), so that, like a real user's, it is the same at every attempt: trying a
     * name twice does not tell whether it exists. PostgreSQL derives its mock salt the same way.
     */
    public static ScramServerSession mock(String user, byte[] mockSecret, SecureRandom random) {
        byte[] salt = java.util.Arrays.copyOf(Scram.hmac(mockSecret, Scram.bytes("salt:" + user)), MOCK_SALT_LENGTH);
        byte[] storedKey = new byte[Scram.KEY_LENGTH];
        byte[] serverKey = new byte[Scram.KEY_LENGTH];
        random.nextBytes(storedKey);
        random.nextBytes(serverKey);
        ScramSecret secret = new ScramSecret(MOCK_ITERATIONS, salt, storedKey, serverKey);
        return new ScramServerSession(secret, Scram.nonce(random), true);
    }

    /**
     * Reads the SASLInitialResponse data and returns the server-first-message to send in
     * AuthenticationSASLContinue.
     *
     * @throws WireException 08P01 if the message is malformed, asks for channel binding or comes out
     *     of order; 0A000 if it uses an authorization identity or a mandatory extension
     */
    public byte[] handleClientFirst(byte[] clientFirstMessage) {
        expect(State.EXPECT_CLIENT_FIRST, CLIENT_FIRST);
        // Whatever throws below leaves the session failed; only a completed step moves it on.
        state = State.FAILED;
        String message = Scram.text(clientFirstMessage);
        gs2Header = gs2Header(message);
        clientFirstBare = message.substring(gs2Header.length());
        String[] fields = clientFirstBare.split(",", -1);
        if (Scram.isMandatoryExtension(fields[0])) {
            throw new WireException(SqlState.FEATURE_NOT_SUPPORTED, "client requires an unsupported SCRAM extension");
        }
        Scram.attribute(fields, 0, 'n', CLIENT_FIRST);
        String clientNonce = Scram.attribute(fields, 1, 'r', CLIENT_FIRST);
        if (!Scram.isValidNonce(clientNonce)) {
            throw Scram.malformed(CLIENT_FIRST, "nonce must be non-empty printable ASCII without ','");
        }
        // Fields after the nonce are optional extensions, which RFC 5802 lets us ignore.
        nonce = clientNonce + serverNonce;
        serverFirst = "r=" + nonce + ",s=" + Scram.base64(secret.salt()) + ",i=" + secret.iterations();
        state = State.EXPECT_CLIENT_FINAL;
        return Scram.bytes(serverFirst);
    }

    /**
     * Reads the SASLResponse data, checks the client's proof and returns the server-final-message to
     * send in AuthenticationSASLFinal.
     *
     * @throws WireException 28P01 "password authentication failed" if the proof is wrong (callers
     *     add the user name); 08P01 if the message is malformed, its channel binding or nonce do not
     *     match the client-first-message, or it comes out of order
     */
    public byte[] handleClientFinal(byte[] clientFinalMessage) {
        expect(State.EXPECT_CLIENT_FINAL, CLIENT_FINAL);
        state = State.FAILED;
        String message = Scram.text(clientFinalMessage);
        String[] fields = message.split(",", -1);
        String binding = Scram.attribute(fields, 0, 'c', CLIENT_FINAL);
        if (!binding.equals(Scram.base64(Scram.bytes(gs2Header)))) {
            throw new WireException(SqlState.PROTOCOL_VIOLATION,
                    "SCRAM channel binding in client-final-message does not match the client-first-message");
        }
        if (!Scram.attribute(fields, 1, 'r', CLIENT_FINAL).equals(nonce)) {
            throw new WireException(SqlState.PROTOCOL_VIOLATION, "SCRAM nonce in client-final-message does not match");
        }
        // The proof is always last; extensions may sit between it and the nonce.
        int last = fields.length - 1;
        if (last < 2) {
            throw Scram.malformed(CLIENT_FINAL, "attribute p= is missing");
        }
        byte[] proof = Scram.fromBase64(Scram.attribute(fields, last, 'p', CLIENT_FINAL), CLIENT_FINAL, "p=");
        if (proof.length != Scram.KEY_LENGTH) {
            throw Scram.malformed(CLIENT_FINAL, "proof must be " + Scram.KEY_LENGTH + " bytes, got " + proof.length);
        }
        String withoutProof = message.substring(0, message.length() - fields[last].length() - 1);
        byte[] authMessage = Scram.bytes(clientFirstBare + "," + serverFirst + "," + withoutProof);

        byte[] storedKey = secret.storedKey();
        byte[] recovered = Scram.xor(proof, Scram.hmac(storedKey, authMessage));
        boolean proofMatches = MessageDigest.isEqual(Scram.h(recovered), storedKey);
        if (doomed || !proofMatches) {
            throw new WireException(SqlState.INVALID_PASSWORD, "password authentication failed");
        }
        clientKey = recovered;
        state = State.SUCCEEDED;
        return Scram.bytes("v=" + Scram.base64(Scram.hmac(secret.serverKey(), authMessage)));
    }

    /**
     * The ClientKey the client proved it knows, for logging in to PostgreSQL on its behalf.
     *
     * @throws IllegalStateException unless {@link #handleClientFinal} succeeded
     */
    public byte[] clientKey() {
        if (state != State.SUCCEEDED) {
            throw new IllegalStateException("SCRAM exchange has not succeeded, so there is no ClientKey");
        }
        return clientKey.clone();
    }

    /** The gs2-header ("n,," or "y,,") that opens the client-first-message. */
    private static String gs2Header(String message) {
        if (message.isEmpty()) {
            throw Scram.malformed(CLIENT_FIRST, "message is empty");
        }
        switch (message.charAt(0)) {
            // 'y': the client could bind but believes we cannot, which is true: we never offer -PLUS.
            case 'n', 'y' -> { }
            case 'p' -> throw new WireException(SqlState.PROTOCOL_VIOLATION, "client requested SCRAM channel binding, but "
                    + MECHANISM + " without channel binding was selected");
            default -> throw Scram.malformed(CLIENT_FIRST, "channel binding flag must be n, y or p");
        }
        if (message.length() < 2 || message.charAt(1) != ',') {
            throw Scram.malformed(CLIENT_FIRST, "expected ',' after the channel binding flag");
        }
        if (message.startsWith("a=", 2)) {
            throw new WireException(SqlState.FEATURE_NOT_SUPPORTED,
                    "client uses a SCRAM authorization identity, which is not supported");
        }
        if (message.length() < 3 || message.charAt(2) != ',') {
            throw Scram.malformed(CLIENT_FIRST, "expected ',' to end the gs2 header");
        }
        return message.substring(0, 3);
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
