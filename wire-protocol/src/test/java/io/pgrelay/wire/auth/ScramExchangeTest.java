package io.pgrelay.wire.auth;

import static io.pgrelay.wire.auth.ScramRfc7677Test.ascii;
import static io.pgrelay.wire.auth.ScramRfc7677Test.text;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeout;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.wire.SqlState;
import io.pgrelay.wire.WireException;
import java.security.SecureRandom;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** Full exchanges between our own client and server sessions, including key passthrough. */
class ScramExchangeTest {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final ScramSecret SECRET = ScramSecret.fromPassword("s3cret pässword", salt(), 4096);

    @Test
    void passwordLogsIn() {
        ScramServerSession server = new ScramServerSession(SECRET, RANDOM);
        ScramClientSession client = ScramClientSession.withPassword("s3cret pässword", RANDOM);

        run(client, server);

        assertEquals(32, server.clientKey().length);
    }

    @Test
    void clientFirstMessageHasEmptyUserAndNoBinding() {
        String first = text(ScramClientSession.withPassword("x", RANDOM).clientFirstMessage());

        assertTrue(first.matches("n,,n=,r=[A-Za-z0-9+/]{24}"), first);
    }

    /** pgrelay verifies a client, then logs in to "PostgreSQL" with the recovered ClientKey alone. */
    @Test
    void recoveredClientKeyLogsInWithoutThePassword() {
        ScramServerSession frontend = new ScramServerSession(SECRET, RANDOM);
        run(ScramClientSession.withPassword("s3cret pässword", RANDOM), frontend);

        ScramServerSession backend = new ScramServerSession(SECRET, RANDOM);
        ScramClientSession relay = ScramClientSession.withKeys(frontend.clientKey(), SECRET.serverKey(), RANDOM);
        run(relay, backend);

        assertArrayEquals(frontend.clientKey(), backend.clientKey());
    }

    /** With keys, the salt and iteration count the server announces cost nothing and need not match. */
    @Test
    void keysIgnoreTheServersSaltAndIterations() {
        ScramServerSession frontend = new ScramServerSession(SECRET, RANDOM);
        run(ScramClientSession.withPassword("s3cret pässword", RANDOM), frontend);
        ScramSecret slowSecret = new ScramSecret(ScramClientSession.MAX_ITERATIONS, new byte[] {1, 2, 3},
                SECRET.storedKey(), SECRET.serverKey());
        ScramClientSession relay = ScramClientSession.withKeys(frontend.clientKey(), SECRET.serverKey(), RANDOM);

        assertTimeout(Duration.ofSeconds(2), () -> run(relay, new ScramServerSession(slowSecret, RANDOM)));
    }

    @Test
    void wrongPasswordFailsWith28P01() {
        ScramServerSession server = new ScramServerSession(SECRET, RANDOM);
        ScramClientSession client = ScramClientSession.withPassword("wrong", RANDOM);
        byte[] clientFinal = client.handleServerFirst(server.handleClientFirst(client.clientFirstMessage()));

        WireException e = assertSqlState(SqlState.INVALID_PASSWORD, () -> server.handleClientFinal(clientFinal));
        assertEquals("password authentication failed", e.getMessage());
        assertThrows(IllegalStateException.class, server::clientKey);
    }

    @Test
    void wrongServerKeyIsCaughtByTheClient() {
        ScramServerSession server = new ScramServerSession(SECRET, RANDOM);
        ScramServerSession frontend = new ScramServerSession(SECRET, RANDOM);
        run(ScramClientSession.withPassword("s3cret pässword", RANDOM), frontend);
        byte[] wrongServerKey = SECRET.serverKey();
        wrongServerKey[0] ^= 1;
        ScramClientSession client = ScramClientSession.withKeys(frontend.clientKey(), wrongServerKey, RANDOM);

        byte[] serverFinal = server.handleClientFinal(client.handleServerFirst(server.handleClientFirst(client.clientFirstMessage())));

        WireException e = assertSqlState(SqlState.PROTOCOL_VIOLATION, () -> client.handleServerFinal(serverFinal));
        assertEquals("SCRAM server signature mismatch", e.getMessage());
    }

    @Test
    void mockSessionFailsEvenForAPlausibleExchange() {
        ScramServerSession mock = ScramServerSession.mock("nobody", new byte[] {1, 2, 3}, RANDOM);
        ScramClientSession client = ScramClientSession.withPassword("anything", RANDOM);

        String serverFirst = text(mock.handleClientFirst(client.clientFirstMessage()));
        assertTrue(serverFirst.matches("r=[^,]+,s=[A-Za-z0-9+/=]{24},i=4096"), serverFirst);
        byte[] clientFinal = client.handleServerFirst(ascii(serverFirst));

        assertSqlState(SqlState.INVALID_PASSWORD, () -> mock.handleClientFinal(clientFinal));
        assertThrows(IllegalStateException.class, mock::clientKey);
    }

    @Test
    void mockSaltIsTheSameAtEveryAttemptForOneUserAndDiffersBetweenUsers() {
        byte[] processSecret = {9, 8, 7, 6};
        String first = text(ScramServerSession.mock("nobody", processSecret, RANDOM)
                .handleClientFirst(Scram.bytes("n,,n=,r=abcdefghijklmnop")));
        String again = text(ScramServerSession.mock("nobody", processSecret, RANDOM)
                .handleClientFirst(Scram.bytes("n,,n=,r=abcdefghijklmnop")));
        String other = text(ScramServerSession.mock("somebody", processSecret, RANDOM)
                .handleClientFirst(Scram.bytes("n,,n=,r=abcdefghijklmnop")));
        assertEquals(saltOf(first), saltOf(again));
        assertNotEquals(saltOf(first), saltOf(other));
    }

    private static String saltOf(String serverFirst) {
        for (String field : serverFirst.split(",")) {
            if (field.startsWith("s=")) {
                return field;
            }
        }
        throw new AssertionError("no salt in " + serverFirst);
    }

    /** Even a client holding the mock's own keys is refused. */
    @Test
    void mockSessionFailsAgainstItsOwnKeys() {
        ScramServerSession mock = new ScramServerSession(SECRET, "servernonce", true);
        ScramClientSession client = ScramClientSession.withPassword("s3cret pässword", RANDOM);
        byte[] clientFinal = client.handleServerFirst(mock.handleClientFirst(client.clientFirstMessage()));

        assertSqlState(SqlState.INVALID_PASSWORD, () -> mock.handleClientFinal(clientFinal));
    }

    @Test
    void serverErrorInvalidProofIs28P01() {
        ScramClientSession client = clientAwaitingServerFinal();

        WireException e = assertSqlState(SqlState.INVALID_PASSWORD, () -> client.handleServerFinal(ascii("e=invalid-proof")));
        assertEquals("server rejected SCRAM authentication: invalid-proof", e.getMessage());
    }

    @Test
    void otherServerErrorIs08P01() {
        ScramClientSession client = clientAwaitingServerFinal();

        WireException e = assertSqlState(SqlState.PROTOCOL_VIOLATION,
                () -> client.handleServerFinal(ascii("e=channel-bindings-dont-match")));
        assertTrue(e.getMessage().contains("channel-bindings-dont-match"));
    }

    private static ScramClientSession clientAwaitingServerFinal() {
        ScramServerSession server = new ScramServerSession(SECRET, RANDOM);
        ScramClientSession client = ScramClientSession.withPassword("s3cret pässword", RANDOM);
        client.handleServerFirst(server.handleClientFirst(client.clientFirstMessage()));
        return client;
    }

    static void run(ScramClientSession client, ScramServerSession server) {
        byte[] serverFirst = server.handleClientFirst(client.clientFirstMessage());
        byte[] serverFinal = server.handleClientFinal(client.handleServerFirst(serverFirst));
        client.handleServerFinal(serverFinal);
    }

    static WireException assertSqlState(String sqlState, Executable executable) {
        WireException e = assertThrows(WireException.class, executable);
        assertEquals(sqlState, e.sqlState(), e.getMessage());
        return e;
    }

    private static byte[] salt() {
        byte[] salt = new byte[16];
        RANDOM.nextBytes(salt);
        return salt;
    }
}
