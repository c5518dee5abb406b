package io.pgrelay.server.auth;

import static io.pgrelay.server.auth.ClientAuthTest.CAROL_SECRET;
import static io.pgrelay.server.auth.ClientAuthTest.auth;
import static io.pgrelay.server.auth.ClientAuthTest.ip;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.pgrelay.conf.AuthMethod;
import io.pgrelay.conf.AuthRule;
import io.pgrelay.pool.BackendCredentials;
import io.pgrelay.wire.SqlState;
import io.pgrelay.wire.WireException;
import io.pgrelay.wire.auth.Md5Password;
import io.pgrelay.wire.auth.ScramClientSession;
import io.pgrelay.wire.auth.ScramServerSession;
import io.pgrelay.wire.message.backend.BackendMessage;
import io.pgrelay.wire.message.backend.BackendMessage.AuthenticationMD5Password;
import io.pgrelay.wire.message.backend.BackendMessage.AuthenticationSASL;
import io.pgrelay.wire.message.backend.BackendMessage.AuthenticationSASLContinue;
import io.pgrelay.wire.message.backend.BackendMessage.AuthenticationSASLFinal;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Client authentication exchanges as pgrelay runs them: the request from {@link AuthExchange#start},
 * the client's 'p' messages built byte by byte here, and the credentials handed to the pool.
 * Messages sit between junk bytes so that offsets, not buffer bounds, delimit them.
 */
class AuthExchangeTest {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String DB = "shop";

    // --- reject and trust ---

    @Test
    void rejectFails28000NamingHostUserAndDatabase() {
        AuthExchange exchange = new AuthExchange(auth(new AuthRule("all", "all", "alice", AuthMethod.REJECT)), "alice");

        WireException e = assertThrows(WireException.class, () -> exchange.start(ip("10.1.2.3"), DB));

        assertEquals(SqlState.INVALID_AUTHORIZATION_SPECIFICATION, e.sqlState());
        assertEquals("pgrelay auth rules reject connection for host \"10.1.2.3\", user \"alice\", database \"shop\"",
                e.getMessage());
        assertFalse(exchange.done());
    }

    @Test
    void noMatchingRuleFails28000() {
        AuthExchange exchange = new AuthExchange(auth(new AuthRule("127.0.0.1/32", "all", "all", AuthMethod.TRUST)), "alice");

        WireException e = assertThrows(WireException.class, () -> exchange.start(ip("::1"), DB));

        assertEquals(SqlState.INVALID_AUTHORIZATION_SPECIFICATION, e.sqlState());
        assertTrue(e.getMessage().contains("host \"0:0:0:0:0:0:0:1\""), e.getMessage());
    }

    @Test
    void trustTakesCredentialsFromTheUsersFile() {
        assertEquals(new BackendCredentials.Password("alice-pw"), trusted("alice"));
        assertEquals(new BackendCredentials.Md5Hash(Md5Password.hash("bob", "bob-pw")), trusted("bob"));
        assertSame(BackendCredentials.None.INSTANCE, trusted("carol"), "a SCRAM verifier cannot log in by itself");
        assertSame(BackendCredentials.None.INSTANCE, trusted("mallory"));
    }

    private static BackendCredentials trusted(String user) {
        AuthExchange exchange = new AuthExchange(auth(new AuthRule("all", "all", "all", AuthMethod.TRUST)), user);
        assertNull(exchange.start(ip("127.0.0.1"), DB));
        assertTrue(exchange.done());
        return exchange.credentials();
    }

    @Test
    void passwordMessageAfterTrustIsAProtocolViolation() {
        AuthExchange exchange = new AuthExchange(auth(new AuthRule("all", "all", "all", AuthMethod.TRUST)), "alice");
        exchange.start(ip("127.0.0.1"), DB);

        WireException e = assertThrows(WireException.class, () -> send(exchange, passwordMessage("alice-pw")));

        assertEquals(SqlState.PROTOCOL_VIOLATION, e.sqlState());
    }

    // --- md5 ---

    @Test
    void md5WithPlaintextSecretGivesPasswordCredentials() {
        AuthExchange exchange = md5("alice");
        byte[] salt = md5Salt(exchange);

        assertNull(send(exchange, passwordMessage(Md5Password.response(Md5Password.hash("alice", "alice-pw"), salt))));

        assertTrue(exchange.done());
        assertEquals(new BackendCredentials.Password("alice-pw"), exchange.credentials());
    }

    @Test
    void md5WithHashSecretGivesMd5HashCredentials() {
        AuthExchange exchange = md5("bob");
        byte[] salt = md5Salt(exchange);

        assertNull(send(exchange, passwordMessage(Md5Password.response(Md5Password.hash("bob", "bob-pw"), salt))));

        assertTrue(exchange.done());
        assertEquals(new BackendCredentials.Md5Hash(Md5Password.hash("bob", "bob-pw")), exchange.credentials());
    }

    @Test
    void md5SaltIsFreshPerExchange() {
        assertFalse(java.util.Arrays.equals(md5Salt(md5("alice")), md5Salt(md5("alice"))));
    }

    @ParameterizedTest(name = "{0} with {1}")
    @CsvSource({"alice, wrong", "bob, wrong", "mallory, anything"})
    void md5WrongPasswordFails28P01(String user, String password) {
        AuthExchange exchange = md5(user);
        byte[] salt = md5Salt(exchange);

        WireException e = assertThrows(WireException.class,
                () -> send(exchange, passwordMessage(Md5Password.response(Md5Password.hash(user, password), salt))));

        assertEquals(SqlState.INVALID_PASSWORD, e.sqlState());
        assertEquals("password authentication failed for user \"" + user + "\"", e.getMessage());
        assertFalse(exchange.done());
        assertSame(BackendCredentials.None.INSTANCE, exchange.credentials());
    }

    @Test
    void md5ResponseForAnotherSaltFails() {
        AuthExchange exchange = md5("alice");
        byte[] salt = md5Salt(exchange);
        byte[] other = salt.clone();
        other[0] ^= 1;

        WireException e = assertThrows(WireException.class,
                () -> send(exchange, passwordMessage(Md5Password.response(Md5Password.hash("alice", "alice-pw"), other))));

        assertEquals(SqlState.INVALID_PASSWORD, e.sqlState());
    }

    @Test
    void md5PlaintextPasswordInsteadOfResponseFails() {
        AuthExchange exchange = md5("alice");
        md5Salt(exchange);

        WireException e = assertThrows(WireException.class, () -> send(exchange, passwordMessage("alice-pw")));

        assertEquals(SqlState.INVALID_PASSWORD, e.sqlState());
    }

    @Test
    void unterminatedPasswordMessageIsAProtocolViolation() {
        AuthExchange exchange = md5("alice");
        md5Salt(exchange);

        WireException e = assertThrows(WireException.class, () -> send(exchange, message(out -> out.writeBytes(ascii("md5abc")))));

        assertEquals(SqlState.PROTOCOL_VIOLATION, e.sqlState());
    }

    @Test
    void md5RuleWithScramSecretStartsScram() {
        AuthExchange exchange = md5("carol");
        AuthenticationSASL sasl = assertInstanceOf(AuthenticationSASL.class, exchange.start(ip("127.0.0.1"), DB));
        assertEquals(List.of("SCRAM-SHA-256"), sasl.mechanisms());

        runScram(exchange, ScramClientSession.withPassword("carol-pw", RANDOM));

        assertInstanceOf(BackendCredentials.ScramKeys.class, exchange.credentials());
    }

    // --- SCRAM-SHA-256 ---

    @Test
    void scramWithPlaintextSecretGivesPasswordCredentials() {
        AuthExchange exchange = scram("alice");
        start(exchange);

        runScram(exchange, ScramClientSession.withPassword("alice-pw", RANDOM));

        assertTrue(exchange.done());
        assertEquals(new BackendCredentials.Password("alice-pw"), exchange.credentials());
    }

    @Test
    void scramWithVerifierGivesKeysThatLogInToTheSameVerifier() {
        AuthExchange exchange = scram("carol");
        start(exchange);

        runScram(exchange, ScramClientSession.withPassword("carol-pw", RANDOM));

        BackendCredentials.ScramKeys keys = assertInstanceOf(BackendCredentials.ScramKeys.class, exchange.credentials());
        assertArrayEquals(CAROL_SECRET.serverKey(), keys.serverKey());
        // "PostgreSQL" holding the same verifier accepts pgrelay logging in with the keys alone.
        ScramServerSession postgres = new ScramServerSession(CAROL_SECRET, RANDOM);
        ScramClientSession relay = ScramClientSession.withKeys(keys.clientKey(), keys.serverKey(), RANDOM);
        relay.handleServerFinal(postgres.handleClientFinal(relay.handleServerFirst(postgres.handleClientFirst(relay.clientFirstMessage()))));
        assertArrayEquals(keys.clientKey(), postgres.clientKey());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"alice", "carol"})
    void scramWrongPasswordFails28P01(String user) {
        AuthExchange exchange = scram(user);
        start(exchange);

        WireException e = assertThrows(WireException.class, () -> runScram(exchange, ScramClientSession.withPassword("wrong", RANDOM)));

        assertEquals(SqlState.INVALID_PASSWORD, e.sqlState());
        assertEquals("password authentication failed for user \"" + user + "\"", e.getMessage());
        assertFalse(exchange.done());
        assertSame(BackendCredentials.None.INSTANCE, exchange.credentials());
    }

    /** An unknown user (or one with only an md5 hash) gets a whole exchange that fails like a wrong password. */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"mallory, anything", "bob, bob-pw"})
    void scramForUserWithoutVerifierRunsAndFails28P01(String user, String password) {
        AuthExchange exchange = scram(user);
        start(exchange);
        ScramClientSession client = ScramClientSession.withPassword(password, RANDOM);

        BackendMessage cont = send(exchange, saslInitialResponse("SCRAM-SHA-256", client.clientFirstMessage()));
        byte[] serverFirst = assertInstanceOf(AuthenticationSASLContinue.class, cont).data();
        assertTrue(new String(serverFirst, StandardCharsets.US_ASCII).matches("r=[^,]+,s=[A-Za-z0-9+/=]+,i=4096"));
        byte[] clientFinal = client.handleServerFirst(serverFirst);
        WireException e = assertThrows(WireException.class, () -> send(exchange, saslResponse(clientFinal)));

        assertEquals(SqlState.INVALID_PASSWORD, e.sqlState());
        assertEquals("password authentication failed for user \"" + user + "\"", e.getMessage());
        assertFalse(exchange.done());
    }

    @Test
    void scramWithUnknownMechanismFails08P01() {
        AuthExchange exchange = scram("alice");
        start(exchange);
        byte[] first = ScramClientSession.withPassword("alice-pw", RANDOM).clientFirstMessage();

        WireException e = assertThrows(WireException.class, () -> send(exchange, saslInitialResponse("SCRAM-SHA-256-PLUS", first)));

        assertEquals(SqlState.PROTOCOL_VIOLATION, e.sqlState());
        assertTrue(e.getMessage().contains("SCRAM-SHA-256-PLUS"), e.getMessage());
    }

    @Test
    void saslInitialResponseWithTruncatedDataFails08P01() {
        AuthExchange exchange = scram("alice");
        start(exchange);
        byte[] first = ScramClientSession.withPassword("alice-pw", RANDOM).clientFirstMessage();

        WireException e = assertThrows(WireException.class, () -> send(exchange, message(out -> {
            writeCString(out, "SCRAM-SHA-256");
            out.writeInt(first.length + 1);
            out.writeBytes(first);
        })));

        assertEquals(SqlState.PROTOCOL_VIOLATION, e.sqlState());
        assertEquals("malformed SASLInitialResponse message", e.getMessage());
    }

    @Test
    void saslInitialResponseWithoutDataLengthFails08P01() {
        AuthExchange exchange = scram("alice");
        start(exchange);

        WireException e = assertThrows(WireException.class, () -> send(exchange, message(out -> {
            writeCString(out, "SCRAM-SHA-256");
            out.writeShort(0);
        })));

        assertEquals(SqlState.PROTOCOL_VIOLATION, e.sqlState());
    }

    @Test
    void saslInitialResponseWithNegativeDataLengthFails08P01() {
        AuthExchange exchange = scram("alice");
        start(exchange);

        WireException e = assertThrows(WireException.class, () -> send(exchange, message(out -> {
            writeCString(out, "SCRAM-SHA-256");
            out.writeInt(-1);
        })));

        assertEquals(SqlState.PROTOCOL_VIOLATION, e.sqlState());
    }

    /**
     * The data length is the client's to choose; a huge one must not overflow the bounds check and
     * make pgrelay allocate it.
     */
    @Test
    void saslInitialResponseWithHugeDataLengthFails08P01() {
        AuthExchange exchange = scram("alice");
        start(exchange);

        Throwable thrown = null;
        try {
            send(exchange, message(out -> {
                writeCString(out, "SCRAM-SHA-256");
                out.writeInt(Integer.MAX_VALUE);
                out.writeBytes(ascii("n,,n=,r=abc"));
            }));
        } catch (Throwable t) {
            // Caught here, not by assertThrows: JUnit rethrows an OutOfMemoryError, which kills the fork.
            thrown = t;
        }

        WireException e = assertInstanceOf(WireException.class, thrown, "data length 2147483647 in a 34-byte message");
        assertEquals(SqlState.PROTOCOL_VIOLATION, e.sqlState());
    }

    @Test
    void saslInitialResponseWithUnterminatedMechanismFails08P01() {
        AuthExchange exchange = scram("alice");
        start(exchange);

        WireException e = assertThrows(WireException.class,
                () -> send(exchange, message(out -> out.writeBytes(ascii("SCRAM-SHA-256")))));

        assertEquals(SqlState.PROTOCOL_VIOLATION, e.sqlState());
    }

    @Test
    void malformedClientFirstMessageFails08P01() {
        AuthExchange exchange = scram("alice");
        start(exchange);

        WireException e = assertThrows(WireException.class,
                () -> send(exchange, saslInitialResponse("SCRAM-SHA-256", ascii("x,,n=,r=abc"))));

        assertEquals(SqlState.PROTOCOL_VIOLATION, e.sqlState());
    }

    @Test
    void passwordMessageAfterSuccessIsAProtocolViolation() {
        AuthExchange exchange = scram("alice");
        start(exchange);
        runScram(exchange, ScramClientSession.withPassword("alice-pw", RANDOM));

        WireException e = assertThrows(WireException.class, () -> send(exchange, saslResponse(ascii("again"))));

        assertEquals(SqlState.PROTOCOL_VIOLATION, e.sqlState());
    }

    // --- helpers ---

    private static AuthExchange md5(String user) {
        return new AuthExchange(auth(new AuthRule("all", "all", "all", AuthMethod.MD5)), user);
    }

    private static AuthExchange scram(String user) {
        return new AuthExchange(auth(new AuthRule("all", "all", "all", AuthMethod.SCRAM_SHA_256)), user);
    }

    private static byte[] md5Salt(AuthExchange exchange) {
        AuthenticationMD5Password request = assertInstanceOf(AuthenticationMD5Password.class, exchange.start(ip("127.0.0.1"), DB));
        assertEquals(4, request.salt().length);
        assertFalse(exchange.done());
        return request.salt();
    }

    private static void start(AuthExchange exchange) {
        AuthenticationSASL sasl = assertInstanceOf(AuthenticationSASL.class, exchange.start(ip("127.0.0.1"), DB));
        assertEquals(List.of("SCRAM-SHA-256"), sasl.mechanisms());
        assertFalse(exchange.done());
    }

    /** A whole SCRAM exchange after AuthenticationSASL, checking the server's signature. */
    private static void runScram(AuthExchange exchange, ScramClientSession client) {
        BackendMessage cont = send(exchange, saslInitialResponse("SCRAM-SHA-256", client.clientFirstMessage()));
        assertFalse(exchange.done());
        byte[] clientFinal = client.handleServerFirst(assertInstanceOf(AuthenticationSASLContinue.class, cont).data());
        BackendMessage fin = send(exchange, saslResponse(clientFinal));
        client.handleServerFinal(assertInstanceOf(AuthenticationSASLFinal.class, fin).data());
        assertTrue(exchange.done());
    }

    /** Hands the message to the exchange as the session would (type byte at start, whole length), then releases it. */
    private static BackendMessage send(AuthExchange exchange, ByteBuf buf) {
        try {
            return exchange.onPasswordMessage(buf, JUNK, buf.writerIndex() - 2 * JUNK);
        } finally {
            assertTrue(buf.release());
        }
    }

    private static final int JUNK = 3;

    /** 'p', int32 length, body; between {@value #JUNK} junk bytes on each side. */
    private static ByteBuf message(Consumer<ByteBuf> body) {
        ByteBuf out = Unpooled.buffer();
        out.writeBytes(new byte[] {(byte) 0xEE, (byte) 0xEE, (byte) 0xEE});
        ByteBuf content = Unpooled.buffer();
        try {
            body.accept(content);
            out.writeByte('p').writeInt(4 + content.readableBytes()).writeBytes(content);
        } finally {
            content.release();
        }
        out.writeBytes(new byte[] {(byte) 0xEE, (byte) 0xEE, (byte) 0xEE});
        return out;
    }

    /** PasswordMessage: 'p', int32 length, the password as a C string. */
    private static ByteBuf passwordMessage(String password) {
        return message(out -> writeCString(out, password));
    }

    /** SASLInitialResponse: 'p', int32 length, mechanism C string, int32 data length, data. */
    private static ByteBuf saslInitialResponse(String mechanism, byte[] data) {
        return message(out -> {
            writeCString(out, mechanism);
            out.writeInt(data.length);
            out.writeBytes(data);
        });
    }

    /** SASLResponse: 'p', int32 length, data. */
    private static ByteBuf saslResponse(byte[] data) {
        return message(out -> out.writeBytes(data));
    }

    private static void writeCString(ByteBuf out, String s) {
        out.writeBytes(s.getBytes(StandardCharsets.UTF_8)).writeByte(0);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
