package io.pgrelay.wire.auth;

import static io.pgrelay.wire.auth.ScramExchangeTest.assertSqlState;
import static io.pgrelay.wire.auth.ScramRfc7677Test.ascii;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.wire.SqlState;
import io.pgrelay.wire.WireException;
import java.security.SecureRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The client session's handling of what a server may send. */
class ScramClientSessionTest {
    private static final String CLIENT_NONCE = "clientnonce";

    @ParameterizedTest
    @ValueSource(strings = {"r=clientnonce,s=AQID,i=4096", "r=clientnoncX123,s=AQID,i=4096", "r=other,s=AQID,i=4096",
            "r=xclientnonce,s=AQID,i=4096"})
    void nonceThatDoesNotExtendOursIs08P01(String serverFirst) {
        WireException e = assertSqlState(SqlState.PROTOCOL_VIOLATION, () -> started().handleServerFirst(ascii(serverFirst)));
        assertTrue(e.getMessage().contains("nonce"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "r=clientnonce123", "s=AQID,r=clientnonce123,i=4096", "r=clientnonce123,s=AQID",
            "r=clientnonce123,s=AQID,i=", "r=clientnonce123,s=AQID,i=-1", "r=clientnonce123,s=AQID,i=+5",
            "r=clientnonce123,s=AQID,i=4096x", "r=clientnonce123,s=,i=4096", "r=clientnonce123,s=A*ID,i=4096",
            "r=clientnonce 123,s=AQID,i=4096", "m=ext,r=clientnonce123,s=AQID,i=4096"})
    void malformedServerFirstIs08P01(String serverFirst) {
        assertSqlState(SqlState.PROTOCOL_VIOLATION, () -> started().handleServerFirst(ascii(serverFirst)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "10000001", "99999999999999999999"})
    void iterationCountOutsideTheLimitIs08P01(String iterations) {
        WireException e = assertSqlState(SqlState.PROTOCOL_VIOLATION,
                () -> started().handleServerFirst(ascii("r=clientnonce123,s=AQID,i=" + iterations)));
        assertTrue(e.getMessage().contains("iteration count"), e.getMessage());
    }

    @Test
    void iterationCountAtTheLimitIsAcceptedWithKeys() {
        ScramClientSession client = new ScramClientSession(null, new byte[32], new byte[32], "", CLIENT_NONCE);
        client.clientFirstMessage();

        client.handleServerFirst(ascii("r=clientnonce123,s=AQID,i=" + ScramClientSession.MAX_ITERATIONS + ",x=ext"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "v=", "v=not*base64", "x=AAAA", "v=AAAA"})
    void badServerFinalIs08P01(String serverFinal) {
        assertSqlState(SqlState.PROTOCOL_VIOLATION, () -> awaitingServerFinal().handleServerFinal(ascii(serverFinal)));
    }

    @Test
    void serverFirstBeforeClientFirstIs08P01() {
        ScramClientSession client = new ScramClientSession("pencil", null, null, "", CLIENT_NONCE);

        assertSqlState(SqlState.PROTOCOL_VIOLATION, () -> client.handleServerFirst(ascii("r=clientnonce123,s=AQID,i=1")));
    }

    @Test
    void serverFinalBeforeServerFirstIs08P01() {
        assertSqlState(SqlState.PROTOCOL_VIOLATION, () -> started().handleServerFinal(ascii("v=AAAA")));
    }

    @Test
    void nothingIsAcceptedAfterAFailure() {
        ScramClientSession client = started();
        assertSqlState(SqlState.PROTOCOL_VIOLATION, () -> client.handleServerFirst(ascii("r=other,s=AQID,i=1")));

        WireException e = assertSqlState(SqlState.PROTOCOL_VIOLATION,
                () -> client.handleServerFirst(ascii("r=clientnonce123,s=AQID,i=1")));
        assertTrue(e.getMessage().contains("failed"), e.getMessage());
    }

    @Test
    void clientFirstMessageIsProducedOnce() {
        ScramClientSession client = started();

        assertThrows(IllegalStateException.class, client::clientFirstMessage);
    }

    @Test
    void keysMustBe32Bytes() {
        SecureRandom random = new SecureRandom();

        assertThrows(IllegalArgumentException.class, () -> ScramClientSession.withKeys(new byte[31], new byte[32], random));
        assertThrows(IllegalArgumentException.class, () -> ScramClientSession.withKeys(new byte[32], null, random));
    }

    private static ScramClientSession started() {
        ScramClientSession client = new ScramClientSession("pencil", null, null, "", CLIENT_NONCE);
        client.clientFirstMessage();
        return client;
    }

    private static ScramClientSession awaitingServerFinal() {
        ScramClientSession client = started();
        client.handleServerFirst(ascii("r=clientnonce123,s=AQID,i=1"));
        return client;
    }
}
