package io.pgrelay.wire.auth;

import static io.pgrelay.wire.auth.ScramExchangeTest.assertSqlState;
import static io.pgrelay.wire.auth.ScramRfc7677Test.ascii;
import static io.pgrelay.wire.auth.ScramRfc7677Test.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.wire.SqlState;
import io.pgrelay.wire.WireException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The server session's handling of what clients may send: binding flags, malformed and misordered messages. */
class ScramServerSessionTest {
    private static final ScramSecret SECRET = ScramSecret.fromPassword("pencil", new byte[] {1, 2, 3, 4}, 4096);
    private static final String SERVER_NONCE = "SERVERNONCE";
    private static final String CLIENT_NONCE = "clientnonce";
    private static final String NONCE = CLIENT_NONCE + SERVER_NONCE;

    @Test
    void clientFirstIsAnsweredWithNonceSaltAndIterations() {
        String serverFirst = text(session().handleClientFirst(ascii("n,,n=,r=" + CLIENT_NONCE)));

        assertEquals("r=" + NONCE + ",s=AQIDBA==,i=4096", serverFirst);
    }

    /** libpq sends "n=", the JDBC driver "n=*", RFC examples a real name: all are ignored. */
    @ParameterizedTest
    @ValueSource(strings = {"n,,n=,r=clientnonce", "n,,n=*,r=clientnonce", "n,,n=alice,r=clientnonce",
            "n,,n=al=2Cice,r=clientnonce,x=extension"})
    void userNameAndExtensionsAreIgnored(String clientFirst) {
        assertTrue(text(session().handleClientFirst(ascii(clientFirst))).startsWith("r=" + NONCE + ","));
    }

    @Test
    void clientThatCouldBindIsAcceptedWithMatchingBindingAttribute() {
        ScramServerSession server = session();
        server.handleClientFirst(ascii("y,,n=,r=" + CLIENT_NONCE));

        // The proof is wrong, but reaching the proof check shows that c=eSws ("y,,") was accepted.
        assertSqlState(SqlState.INVALID_PASSWORD, () -> server.handleClientFinal(ascii("c=eSws,r=" + NONCE + ",p=" + zeroProof())));
    }

    @Test
    void channelBindingRequestIsRejected() {
        WireException e = assertSqlState(SqlState.PROTOCOL_VIOLATION,
                () -> session().handleClientFirst(ascii("p=tls-server-end-point,,n=,r=" + CLIENT_NONCE)));
        assertTrue(e.getMessage().contains("channel binding"), e.getMessage());
    }

    @Test
    void authorizationIdentityIsNotSupported() {
        assertSqlState(SqlState.FEATURE_NOT_SUPPORTED, () -> session().handleClientFirst(ascii("n,a=admin,n=,r=" + CLIENT_NONCE)));
    }

    @Test
    void mandatoryExtensionIsNotSupported() {
        assertSqlState(SqlState.FEATURE_NOT_SUPPORTED, () -> session().handleClientFirst(ascii("n,,m=ext,n=,r=" + CLIENT_NONCE)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "n", "x,,n=,r=abc", "n,n=,r=abc", "n,,", "n,,n=", "n,,r=abc", "n,,n=,x=abc",
            "n,,n=,r=", "n,,n=,r=a b", "n,,n=,r=caf\u00e9"})
    void malformedClientFirstIs08P01(String clientFirst) {
        assertSqlState(SqlState.PROTOCOL_VIOLATION, () -> session().handleClientFirst(latin1(clientFirst)));
    }

    @Test
    void bindingAttributeMustMatchTheGs2Header() {
        ScramServerSession server = started();

        WireException e = assertSqlState(SqlState.PROTOCOL_VIOLATION,
                () -> server.handleClientFinal(ascii("c=eSws,r=" + NONCE + ",p=" + zeroProof())));
        assertTrue(e.getMessage().contains("channel binding"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {CLIENT_NONCE, NONCE + "x", "clientnoncE" + SERVER_NONCE, "other"})
    void tamperedNonceIs08P01(String nonce) {
        ScramServerSession server = started();

        WireException e = assertSqlState(SqlState.PROTOCOL_VIOLATION,
                () -> server.handleClientFinal(ascii("c=biws,r=" + nonce + ",p=" + zeroProof())));
        assertTrue(e.getMessage().contains("nonce"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "c=biws", "c=biws,r=" + NONCE, "r=" + NONCE + ",c=biws,p=AAAA",
            "c=biws,r=" + NONCE + ",p=not*base64", "c=biws,r=" + NONCE + ",p=AAAA", "c=biws,r=" + NONCE + ",x=ext"})
    void malformedClientFinalIs08P01(String clientFinal) {
        assertSqlState(SqlState.PROTOCOL_VIOLATION, () -> started().handleClientFinal(ascii(clientFinal)));
    }

    @Test
    void extensionsBeforeTheProofAreIgnored() {
        ScramServerSession server = started();

        assertSqlState(SqlState.INVALID_PASSWORD,
                () -> server.handleClientFinal(ascii("c=biws,r=" + NONCE + ",x=ext,p=" + zeroProof())));
    }

    @Test
    void finalBeforeFirstIs08P01() {
        assertSqlState(SqlState.PROTOCOL_VIOLATION, () -> session().handleClientFinal(ascii("c=biws,r=x,p=" + zeroProof())));
    }

    @Test
    void secondClientFirstIs08P01() {
        ScramServerSession server = started();

        assertSqlState(SqlState.PROTOCOL_VIOLATION, () -> server.handleClientFirst(ascii("n,,n=,r=" + CLIENT_NONCE)));
    }

    @Test
    void nothingIsAcceptedAfterAFailure() {
        ScramServerSession server = started();
        assertSqlState(SqlState.INVALID_PASSWORD, () -> server.handleClientFinal(ascii("c=biws,r=" + NONCE + ",p=" + zeroProof())));

        WireException e = assertSqlState(SqlState.PROTOCOL_VIOLATION,
                () -> server.handleClientFinal(ascii("c=biws,r=" + NONCE + ",p=" + zeroProof())));
        assertTrue(e.getMessage().contains("failed"), e.getMessage());
    }

    /** A proof of the wrong length is rejected without being repeated in the error. */
    @Test
    void shortProofIs08P01AndNotEchoed() {
        String proof = Base64.getEncoder().encodeToString(new byte[31]);
        WireException e = assertSqlState(SqlState.PROTOCOL_VIOLATION,
                () -> started().handleClientFinal(ascii("c=biws,r=" + NONCE + ",p=" + proof)));
        assertFalse(e.getMessage().contains(proof), e.getMessage());
    }

    private static ScramServerSession session() {
        return new ScramServerSession(SECRET, SERVER_NONCE, false);
    }

    private static ScramServerSession started() {
        ScramServerSession server = session();
        server.handleClientFirst(ascii("n,,n=,r=" + CLIENT_NONCE));
        return server;
    }

    private static String zeroProof() {
        return Base64.getEncoder().encodeToString(new byte[32]);
    }

    private static byte[] latin1(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }
}
