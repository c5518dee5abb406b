package io.pgrelay.it.badinput;

import static io.pgrelay.it.badinput.RawPgClient.concat;
import static io.pgrelay.it.badinput.RawPgClient.header;
import static io.pgrelay.it.badinput.RawPgClient.version;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pgrelay.it.badinput.RawPgClient.ErrorInfo;
import io.pgrelay.it.badinput.RawPgClient.Message;
import io.pgrelay.it.badinput.RawPgClient.Outcome;
import io.pgrelay.it.support.RelayHarness;
import io.pgrelay.pool.Pool;
import io.pgrelay.wire.auth.ScramClientSession;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Broken, hostile and half-finished clients on raw sockets: each must get a clear FATAL
 * ErrorResponse with PostgreSQL's SQLSTATE and/or be closed by pgrelay within a bound, must not
 * leave a server connection leased or a query running, and must not disturb anyone else.
 *
 * @see <a href="https://www.postgresql.org/docs/15/protocol-flow.html#PROTOCOL-FLOW-START-UP">Start-up</a>
 */
class BadInputIT {
    private static final int MAX_MESSAGE_SIZE = 1 << 20;
    private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(1);
    private static final Duration BOUND = Duration.ofSeconds(5);
    private static final String APP = "app";

    private static RelayHarness h;

    @BeforeAll
    static void start() throws Exception {
        h = RelayHarness.start(Map.of("startup_timeout", "1s", "max_message_size", "1MB"));
    }

    @AfterAll
    static void stop() throws Exception {
        if (h != null) {
            h.close();
        }
    }

    /** Whatever the last case threw at it, pgrelay still serves a well-behaved client and leaks nothing. */
    @AfterEach
    void pgrelayStillServesOtherClients() throws Exception {
        try (Connection c = h.connect(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT 1")) {
            assertTrue(rs.next());
            assertEquals(1, rs.getInt(1));
        }
        await("every client session to be closed", () -> h.relay().services().clients().isEmpty());
        await("no server connection to stay leased", () -> leasedServers() == 0);
    }

    // ------------------------------------------------------------------ (a) startup packet length

    @ParameterizedTest(name = "length {0}")
    @ValueSource(ints = {0, 4, 7, 10_005, 20_000, -1, Integer.MIN_VALUE})
    void startupPacketWithABadLengthIsRefused(int length) throws Exception {
        Outcome o = sendAndAwaitClose(ByteBuffer.allocate(8).putInt(length).putInt(RawPgClient.PROTOCOL_3_0).array());
        assertFatal(o, "08P01", "invalid length of startup packet: " + length);
    }

    /** PostgreSQL's MAX_STARTUP_PACKET_LENGTH (10000) limits the body: the whole packet may be 10004 bytes. */
    @Test
    void startupPacketOfExactlyTheMaximumLengthIsAccepted() throws Exception {
        assertEquals(10_004, paddedStartup(10_004).length);
        try (RawPgClient c = RawPgClient.connect(h.port())) {
            c.sendRaw(paddedStartup(10_004));
            c.completeLogin(APP, RelayHarness.APP_PASSWORD);
            assertEquals("1", c.queryValue("SELECT 1"));
        }
        Outcome o = sendAndAwaitClose(paddedStartup(10_005));
        assertFatal(o, "08P01", "invalid length of startup packet: 10005");
    }

    /** A StartupMessage for app/app whose application_name pads it to exactly {@code total} bytes. */
    private static byte[] paddedStartup(int total) {
        Map<String, String> params = new LinkedHashMap<>();
        params.put("user", APP);
        params.put("database", APP);
        params.put("application_name", "");
        int base = RawPgClient.startupPacket(RawPgClient.PROTOCOL_3_0, params).length;
        params.put("application_name", "p".repeat(total - base));
        return RawPgClient.startupPacket(RawPgClient.PROTOCOL_3_0, params);
    }

    // ------------------------------------------------------------------ (b) protocol version

    static Stream<Arguments> unsupportedVersions() {
        return Stream.of(
                Arguments.of(2, 0), Arguments.of(1, 0), Arguments.of(4, 0), Arguments.of(0, 0),
                Arguments.of(1234, 5677), Arguments.of(1234, 9999), Arguments.of(65535, 65535));
    }

    @ParameterizedTest(name = "protocol {0}.{1}")
    @MethodSource("unsupportedVersions")
    void unsupportedProtocolVersionIsRefused(int major, int minor) throws Exception {
        Outcome o = sendAndAwaitClose(RawPgClient.startupPacket(version(major, minor), appStartupParams()));
        assertFatal(o, "0A000", "unsupported frontend protocol " + major + "." + minor);
    }

    /**
     * 1234.5678 is not a protocol version but the CancelRequest code (PostgreSQL's
     * CANCEL_REQUEST_CODE = PG_PROTOCOL(1234,5678)), so a startup-shaped packet with it must be
     * read as a malformed CancelRequest, never as a login.
     */
    @Test
    void version1234_5678IsTheCancelRequestCode() throws Exception {
        Outcome o = sendAndAwaitClose(RawPgClient.startupPacket(version(1234, 5678), appStartupParams()));
        assertFatal(o, "08P01", "invalid length of cancel request packet");
        assertTrue(o.messages().stream().noneMatch(m -> m.type() == 'R'), "no authentication started: " + o);
    }

    @Test
    void newerMinorProtocolVersionIsNegotiatedDown() throws Exception {
        Map<String, String> params = appStartupParams();
        params.put("_pq_.some_future_option", "on");
        try (RawPgClient c = RawPgClient.connect(h.port())) {
            c.sendRaw(RawPgClient.startupPacket(version(3, 99), params));
            Message negotiate = c.expect('v');
            ByteBuffer b = ByteBuffer.wrap(negotiate.body());
            assertEquals(0, b.getInt(), "newest minor version supported");
            assertEquals(1, b.getInt(), "number of unrecognized options");
            assertEquals("_pq_.some_future_option", new String(negotiate.body(), 8, negotiate.body().length - 9,
                    StandardCharsets.UTF_8));
            c.completeLogin(APP, RelayHarness.APP_PASSWORD);
            assertEquals("3.0 works", c.queryValue("SELECT '3.0 works'"));
        }
    }

    // ------------------------------------------------------------------ (c) garbage

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 42, 4711})
    void randomGarbageInsteadOfAStartupPacketIsRefused(long seed) throws Exception {
        byte[] garbage = new byte[100];
        new Random(seed).nextBytes(garbage);
        assertClosedWith08P01OrQuietly(sendAndAwaitClose(garbage));
    }

    @Test
    void randomGarbageDuringAuthenticationIsRefused() throws Exception {
        byte[] garbage = new byte[100];
        new Random(7).nextBytes(garbage);
        try (RawPgClient c = RawPgClient.connect(h.port())) {
            c.sendRaw(RawPgClient.startupMessage(APP, APP));
            c.expectAuthentication(10);
            c.sendRaw(garbage);
            assertFatal(c.readUntilClosed(BOUND), "08P01", null);
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {11, 12, 13})
    void randomGarbageAfterLoginEndsOnlyThatSession(long seed) throws Exception {
        byte[] garbage = new byte[100];
        new Random(seed).nextBytes(garbage);
        try (RawPgClient c = loggedIn()) {
            c.sendRaw(garbage);
            // Either pgrelay's framer refuses the length, or PostgreSQL refuses the message type (FATAL 08P01).
            assertClosedWith08P01OrQuietly(c.readUntilClosed(BOUND));
        }
    }

    // ------------------------------------------------------------------ (d) message framing after login

    @ParameterizedTest(name = "type {0}")
    @ValueSource(chars = {'Q', 'P', 'B', 'd'})
    void frameOverMaxMessageSizeIsRefusedAndItsServerConnectionReleased(char type) throws Exception {
        int leasedBefore = leasedServers();
        int pid;
        int backendsWhileLeased;
        try (RawPgClient c = loggedIn()) {
            pid = Integer.parseInt(c.queryValue("SELECT pg_backend_pid()"));
            backendsWhileLeased = h.backendsOf(APP);
            assertEquals(leasedBefore + 1, leasedServers());
            c.sendRaw(header(type, 2 * MAX_MESSAGE_SIZE));
            assertFatal(c.readUntilClosed(BOUND), "08P01",
                    "message length " + 2 * MAX_MESSAGE_SIZE + " exceeds max_message_size " + MAX_MESSAGE_SIZE);
        }
        await("the server connection to be given back", () -> leasedServers() == leasedBefore);
        await("backend " + pid + " to be idle in the pool or closed", () -> backendIdleOrGone(pid));
        await("no more app backends than while the client was there", () -> h.backendsOf(APP) <= backendsWhileLeased);
    }

    @Test
    void oversizeMessageSentWholeStillClosesTheSession() throws Exception {
        try (RawPgClient c = loggedIn()) {
            byte[] body = new byte[2 * MAX_MESSAGE_SIZE];
            body[body.length - 1] = 0;
            sendBounded(c, RawPgClient.message('Q', body));
            assertClosedWith08P01OrQuietly(c.readUntilClosed(BOUND));
        }
    }

    @Test
    void messageOfExactlyMaxMessageSizePassesAndOneByteMoreIsRefused() throws Exception {
        String prefix = "SELECT length('";
        String suffix = "')";
        int padding = MAX_MESSAGE_SIZE - 4 - 1 - prefix.length() - suffix.length();
        String sql = prefix + "x".repeat(padding) + suffix;
        byte[] atLimit = RawPgClient.query(sql);
        assertEquals(MAX_MESSAGE_SIZE, ByteBuffer.wrap(atLimit).getInt(1));
        try (RawPgClient c = loggedIn()) {
            c.sendRaw(atLimit);
            List<Message> got = c.readUntilReadyForQuery();
            Message row = got.stream().filter(m -> m.type() == 'D').findFirst()
                    .orElseThrow(() -> new AssertionError("no DataRow: " + got));
            assertEquals(String.valueOf(padding), row.firstColumn());
            c.sendRaw(header('Q', MAX_MESSAGE_SIZE + 1));
            assertFatal(c.readUntilClosed(BOUND), "08P01",
                    "message length " + (MAX_MESSAGE_SIZE + 1) + " exceeds max_message_size " + MAX_MESSAGE_SIZE);
        }
    }

    @ParameterizedTest(name = "length {0}")
    @ValueSource(ints = {2, 0, 3, -1})
    void messageLengthBelowFourIsRefused(int length) throws Exception {
        try (RawPgClient c = loggedIn()) {
            c.sendRaw(header('Q', length));
            assertFatal(c.readUntilClosed(BOUND), "08P01", "invalid message length " + length);
        }
    }

    @Test
    void oversizePasswordMessageIsRefused() throws Exception {
        try (RawPgClient c = RawPgClient.connect(h.port())) {
            c.sendRaw(RawPgClient.startupMessage(APP, APP));
            c.expectAuthentication(10);
            c.sendRaw(header('p', 2 * MAX_MESSAGE_SIZE));
            assertFatal(c.readUntilClosed(BOUND), "08P01", "exceeds max_message_size");
        }
    }

    // ------------------------------------------------------------------ malformed authentication

    static Stream<Arguments> badFirstPasswordMessages() {
        byte[] first = ascii("n,,n=,r=rawclientnonce");
        return Stream.of(
                bad("SCRAM-SHA-1 mechanism", RawPgClient.saslInitialResponse("SCRAM-SHA-1", first), "08P01"),
                bad("SCRAM-SHA-256-PLUS mechanism", RawPgClient.saslInitialResponse("SCRAM-SHA-256-PLUS", first), "08P01"),
                bad("empty client-first", RawPgClient.saslInitialResponse("SCRAM-SHA-256", new byte[0]), "08P01"),
                bad("channel binding requested", RawPgClient.saslInitialResponse("SCRAM-SHA-256",
                        ascii("p=tls-server-end-point,,n=,r=abc")), "08P01"),
                bad("authorization identity", RawPgClient.saslInitialResponse("SCRAM-SHA-256",
                        ascii("n,a=postgres,n=,r=abc")), "0A000"),
                bad("no nonce", RawPgClient.saslInitialResponse("SCRAM-SHA-256", ascii("n,,n=")), "08P01"),
                bad("invalid UTF-8", RawPgClient.saslInitialResponse("SCRAM-SHA-256",
                        new byte[] {(byte) 0xff, (byte) 0xfe, ',', ',', (byte) 0xc3}), "08P01"),
                bad("data length -1", RawPgClient.saslInitialResponse("SCRAM-SHA-256", null), "08P01"),
                bad("data length beyond the message", RawPgClient.message('p', concat(RawPgClient.cstring("SCRAM-SHA-256"),
                        ByteBuffer.allocate(4).putInt(1000).array(), ascii("n,,"))), "08P01"),
                bad("no data length", RawPgClient.message('p', RawPgClient.cstring("SCRAM-SHA-256")), "08P01"),
                bad("unterminated mechanism", RawPgClient.message('p', ascii("SCRAM-SHA-256")), "08P01"),
                bad("empty password message", RawPgClient.message('p', new byte[0]), "08P01"),
                bad("Query instead of a password", RawPgClient.query("SELECT 1"), "08P01"),
                bad("Terminate instead of a password", RawPgClient.terminate(), null));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badFirstPasswordMessages")
    void malformedSaslInitialResponseIsRefused(byte[] message, String sqlState) throws Exception {
        try (RawPgClient c = RawPgClient.connect(h.port())) {
            c.sendRaw(RawPgClient.startupMessage(APP, APP));
            c.expectAuthentication(10);
            c.sendRaw(message);
            Outcome o = c.readUntilClosed(BOUND);
            if (sqlState == null) {
                assertClosedWith08P01OrQuietly(o);
            } else {
                assertFatal(o, sqlState, null);
            }
            assertTrue(o.messages().stream().noneMatch(m -> m.type() == 'R' && m.authCode() == 0), "not logged in: " + o);
        }
    }

    static Stream<Arguments> badFinalPasswordMessages() {
        String proof32 = Base64.getEncoder().encodeToString(new byte[32]);
        List<Arguments> cases = new ArrayList<>();
        cases.add(badFinal("wrong proof", n -> "c=biws,r=" + n + ",p=" + proof32, "28P01"));
        cases.add(badFinal("other nonce", n -> "c=biws,r=someoneelsesnonce,p=" + proof32, "08P01"));
        cases.add(badFinal("other channel binding", n -> "c=eSws,r=" + n + ",p=" + proof32, "08P01"));
        cases.add(badFinal("proof not base64", n -> "c=biws,r=" + n + ",p=!!!!", "08P01"));
        cases.add(badFinal("proof of 16 bytes", n -> "c=biws,r=" + n + ",p="
                + Base64.getEncoder().encodeToString(new byte[16]), "08P01"));
        cases.add(badFinal("no proof", n -> "c=biws,r=" + n, "08P01"));
        cases.add(badFinal("empty", n -> "", "08P01"));
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badFinalPasswordMessages")
    void malformedSaslResponseIsRefused(Function<String, String> clientFinal, String sqlState) throws Exception {
        try (RawPgClient c = RawPgClient.connect(h.port())) {
            c.sendRaw(RawPgClient.startupMessage(APP, APP));
            c.expectAuthentication(10);
            c.sendRaw(RawPgClient.saslInitialResponse("SCRAM-SHA-256", ascii("n,,n=,r=rawclientnonce")));
            String serverFirst = new String(c.expectAuthentication(11).authData(), StandardCharsets.US_ASCII);
            String nonce = serverFirst.substring(2, serverFirst.indexOf(','));
            c.sendRaw(RawPgClient.saslResponse(ascii(clientFinal.apply(nonce))));
            Outcome o = c.readUntilClosed(BOUND);
            assertFatal(o, sqlState, null);
            assertTrue(o.messages().stream().noneMatch(m -> m.type() == 'R'), "no SASLFinal / AuthenticationOk: " + o);
        }
    }

    @Test
    void wrongPasswordThroughARealScramClientIs28P01() throws Exception {
        try (RawPgClient c = RawPgClient.connect(h.port())) {
            c.sendRaw(RawPgClient.startupMessage(APP, APP));
            c.expectAuthentication(10);
            ScramClientSession scram = ScramClientSession.withPassword("not-the-password", new SecureRandom());
            c.sendRaw(RawPgClient.saslInitialResponse("SCRAM-SHA-256", scram.clientFirstMessage()));
            c.sendRaw(RawPgClient.saslResponse(scram.handleServerFirst(c.expectAuthentication(11).authData())));
            assertFatal(c.readUntilClosed(BOUND), "28P01", "password authentication failed for user \"app\"");
        }
    }

    /** A client may pipeline its first query right behind the last password message. */
    @Test
    void queryPipelinedBehindThePasswordRunsAfterLogin() throws Exception {
        try (RawPgClient c = RawPgClient.connect(h.port())) {
            c.sendRaw(RawPgClient.startupMessage(APP, APP));
            ScramClientSession scram = ScramClientSession.withPassword(RelayHarness.APP_PASSWORD, new SecureRandom());
            c.expectAuthentication(10);
            c.sendRaw(RawPgClient.saslInitialResponse("SCRAM-SHA-256", scram.clientFirstMessage()));
            byte[] clientFinal = scram.handleServerFirst(c.expectAuthentication(11).authData());
            c.sendRaw(concat(RawPgClient.saslResponse(clientFinal), RawPgClient.query("SELECT 'pipelined'")));
            scram.handleServerFinal(c.expectAuthentication(12).authData());
            c.expectAuthentication(0);
            assertEquals('Z', c.readUntilReadyForQuery().getLast().type());
            List<Message> result = c.readUntilReadyForQuery();
            assertEquals("pipelined", result.stream().filter(m -> m.type() == 'D').findFirst()
                    .map(Message::firstColumn).orElse(null), result.toString());
        }
    }

    // ------------------------------------------------------------------ (e) vanishing clients

    @Test
    void clientVanishingRightAfterSendingAQueryLeavesNothingRunning() throws Exception {
        String marker = "badinput_vanish_now";
        int pid;
        try (RawPgClient c = loggedIn()) {
            pid = Integer.parseInt(c.queryValue("SELECT pg_backend_pid()"));
            c.sendQuery("SELECT pg_sleep(30) /* " + marker + " */");
        }
        try {
            // pgrelay cancels the query and pools the connection again once the server is idle.
            await("backend " + pid + " (left mid-query) to be idle or closed", () -> backendIdleOrGone(pid));
            assertEquals(0, activeQueries(marker), "no " + marker + " query still running");
        } finally {
            terminateQueries(marker);
        }
    }

    @Test
    void clientCrashingWhileItsQueryRunsLeavesNothingRunning() throws Exception {
        String marker = "badinput_vanish_running";
        int pid;
        RawPgClient c = loggedIn();
        try {
            pid = Integer.parseInt(c.queryValue("SELECT pg_backend_pid()"));
            c.sendQuery("SELECT pg_sleep(30) /* " + marker + " */");
            await("the query to run", () -> activeQueries(marker) == 1);
        } finally {
            c.abort();
        }
        try {
            await("no " + marker + " query to be running", () -> activeQueries(marker) == 0);
            await("backend " + pid + " to be idle or closed", () -> backendIdleOrGone(pid));
        } finally {
            terminateQueries(marker);
        }
    }

    /**
     * The same vanishing client, but the backend is slow to get to the query (paused with SIGSTOP
     * for a second, as a loaded machine may do): pgrelay's cancel then reaches PostgreSQL while the
     * backend is still reading the Query message, where PostgreSQL ignores a cancel. The query must
     * still not be left running for no one.
     */
    @Test
    void vanishedClientsQueryIsStoppedEvenWhenTheBackendIsSlowToStartIt() throws Exception {
        assumeTrue(h.cluster().primary().postmasterPid().isPresent(), "needs a local backend process to pause");
        String marker = "badinput_vanish_slow_backend";
        int pid;
        try {
            RawPgClient c = loggedIn();
            try {
                pid = Integer.parseInt(c.queryValue("SELECT pg_backend_pid()"));
                signal("STOP", pid);
                try {
                    c.sendQuery("SELECT pg_sleep(30) /* " + marker + " */");
                    c.close();
                    // pgrelay sees the client go and sends its cancel while the backend is paused.
                    Thread.sleep(1000);
                } finally {
                    signal("CONT", pid);
                }
            } finally {
                c.close();
            }
            try {
                await("backend " + pid + " (its client vanished mid-query) to be idle or closed",
                        () -> backendIdleOrGone(pid));
            } catch (AssertionError e) {
                throw new AssertionError(e.getMessage() + "; it is '" + backendState(pid) + "' with "
                        + activeQueries(marker) + " active '" + marker + "' query", e);
            }
            assertEquals(0, activeQueries(marker), "no " + marker + " query still running");
        } finally {
            terminateQueries(marker);
        }
    }

    // ------------------------------------------------------------------ (f) silent and stalled clients

    @Test
    void silentClientIsClosedAfterStartupTimeout() throws Exception {
        try (RawPgClient c = RawPgClient.connect(h.port())) {
            Outcome o = c.readUntilClosed(BOUND);
            assertClosedAfterStartupTimeout(o);
        }
    }

    @Test
    void halfAStartupPacketIsClosedAfterStartupTimeout() throws Exception {
        try (RawPgClient c = RawPgClient.connect(h.port())) {
            c.sendRaw(new byte[] {0, 0});
            assertClosedAfterStartupTimeout(c.readUntilClosed(BOUND));
        }
        byte[] startup = RawPgClient.startupMessage(APP, APP);
        try (RawPgClient c = RawPgClient.connect(h.port())) {
            c.sendRaw(java.util.Arrays.copyOf(startup, startup.length - 3));
            assertClosedAfterStartupTimeout(c.readUntilClosed(BOUND));
        }
    }

    @Test
    void clientStallingAfterTheStartupMessageIsClosedAfterStartupTimeout() throws Exception {
        try (RawPgClient c = RawPgClient.connect(h.port())) {
            long start = System.nanoTime();
            c.sendRaw(RawPgClient.startupMessage(APP, APP));
            c.expectAuthentication(10);
            Outcome o = c.readUntilClosed(BOUND);
            assertClosedAfterStartupTimeout(o, Duration.ofNanos(System.nanoTime() - start));
        }
    }

    @Test
    void clientStallingMidScramIsClosedAfterStartupTimeout() throws Exception {
        try (RawPgClient c = RawPgClient.connect(h.port())) {
            long start = System.nanoTime();
            c.sendRaw(RawPgClient.startupMessage(APP, APP));
            c.expectAuthentication(10);
            c.sendRaw(RawPgClient.saslInitialResponse("SCRAM-SHA-256", ascii("n,,n=,r=stallingclient")));
            c.expectAuthentication(11);
            Outcome o = c.readUntilClosed(BOUND);
            assertClosedAfterStartupTimeout(o, Duration.ofNanos(System.nanoTime() - start));
        }
    }

    @Test
    void sslRequestFloodDoesNotExtendStartupTimeout() throws Exception {
        long start = System.nanoTime();
        boolean closed = false;
        try (RawPgClient c = RawPgClient.connect(h.port())) {
            for (int i = 0; i < 25 && !closed; i++) {
                try {
                    c.sendRaw(RawPgClient.sslRequest());
                    int answer = c.readByte();
                    if (answer == 'E' || answer < 0) {
                        closed = true;
                    } else {
                        assertEquals('N', answer);
                        Thread.sleep(200);
                    }
                } catch (IOException e) {
                    closed = true;
                }
            }
            if (closed) {
                // Drain the rest of a possible ErrorResponse; the connection must end.
                Outcome rest = c.readUntilClosed(BOUND);
                assertTrue(rest.closed() || rest.messages().isEmpty(), rest.toString());
            }
        }
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertTrue(closed, "pgrelay kept answering SSLRequests for " + took.toMillis() + "ms");
        assertTrue(took.compareTo(BOUND) < 0, "closed only after " + took.toMillis() + "ms");
    }

    // ------------------------------------------------------------------ (g) encryption requests

    @Test
    void sslRequestIsDeclinedAndTheLoginProceeds() throws Exception {
        try (RawPgClient c = RawPgClient.connect(h.port())) {
            c.sendRaw(RawPgClient.sslRequest());
            assertEquals('N', c.readByte());
            c.login(APP, APP, RelayHarness.APP_PASSWORD);
            assertEquals("after ssl N", c.queryValue("SELECT 'after ssl N'"));
        }
    }

    @Test
    void gssEncRequestIsDeclinedAndTheLoginProceeds() throws Exception {
        try (RawPgClient c = RawPgClient.connect(h.port())) {
            c.sendRaw(RawPgClient.gssEncRequest());
            assertEquals('N', c.readByte());
            c.login(APP, APP, RelayHarness.APP_PASSWORD);
            assertEquals("after gss N", c.queryValue("SELECT 'after gss N'"));
        }
    }

    /** libpq with gssencmode=prefer and sslmode=prefer asks for both; here all in one write. */
    @Test
    void gssThenSslThenStartupInOneWrite() throws Exception {
        try (RawPgClient c = RawPgClient.connect(h.port())) {
            c.sendRaw(concat(RawPgClient.gssEncRequest(), RawPgClient.sslRequest(), RawPgClient.startupMessage(APP, APP)));
            assertEquals('N', c.readByte());
            assertEquals('N', c.readByte());
            c.completeLogin(APP, RelayHarness.APP_PASSWORD);
            assertEquals("1", c.queryValue("SELECT 1"));
        }
    }

    @Test
    void cancelRequestsWithABadLengthOrAnUnknownKey() throws Exception {
        byte[] longCancel = ByteBuffer.allocate(20).putInt(20).putInt(RawPgClient.CANCEL_REQUEST_CODE).array();
        assertFatal(sendAndAwaitClose(longCancel), "08P01", "invalid length of cancel request packet: 20");
        Outcome unknown = sendAndAwaitClose(RawPgClient.cancelRequest(12345, 67890));
        assertTrue(unknown.closed(), unknown.toString());
        assertTrue(unknown.messages().isEmpty(), "a CancelRequest gets no answer: " + unknown);
    }

    // ------------------------------------------------------------------ (h) refused startups

    @ParameterizedTest(name = "replication={0}")
    @ValueSource(strings = {"true", "database", "on", "yes", "1", "TRUE"})
    void replicationConnectionIsRefused(String value) throws Exception {
        Map<String, String> params = appStartupParams();
        params.put("replication", value);
        Outcome o = sendAndAwaitClose(RawPgClient.startupPacket(RawPgClient.PROTOCOL_3_0, params));
        assertFatal(o, "0A000", "replication");
    }

    @Test
    void replicationFalseIsAnOrdinaryLogin() throws Exception {
        Map<String, String> params = appStartupParams();
        params.put("replication", "false");
        try (RawPgClient c = RawPgClient.connect(h.port())) {
            c.sendRaw(RawPgClient.startupPacket(RawPgClient.PROTOCOL_3_0, params));
            c.completeLogin(APP, RelayHarness.APP_PASSWORD);
            assertEquals("1", c.queryValue("SELECT 1"));
        }
    }

    @Test
    void startupWithoutAUserIsRefused() throws Exception {
        Outcome none = sendAndAwaitClose(RawPgClient.startupPacket(RawPgClient.PROTOCOL_3_0, Map.of("database", APP)));
        assertFatal(none, "28000", "no PostgreSQL user name specified in startup packet");
        Map<String, String> empty = new LinkedHashMap<>();
        empty.put("user", "");
        empty.put("database", APP);
        assertFatal(sendAndAwaitClose(RawPgClient.startupPacket(RawPgClient.PROTOCOL_3_0, empty)), "28000", "no PostgreSQL user name");
        // Version and terminator only: well formed, but no user.
        Outcome noParams = sendAndAwaitClose(ByteBuffer.allocate(9).putInt(9).putInt(RawPgClient.PROTOCOL_3_0).put((byte) 0).array());
        assertFatal(noParams, "28000", "no PostgreSQL user name");
    }

    @Test
    void malformedStartupParametersAreRefused() throws Exception {
        byte[] version = ByteBuffer.allocate(4).putInt(RawPgClient.PROTOCOL_3_0).array();
        // As PostgreSQL: the body must end with the terminator byte, and every name needs a value.
        List<byte[]> bad = List.of(
                withLength(version),
                withLength(concat(version, RawPgClient.cstring("user"))),
                withLength(concat(version, RawPgClient.cstring("user"), new byte[] {0})),
                withLength(concat(version, RawPgClient.cstring("user"), RawPgClient.cstring(APP), ascii("x"))),
                withLength(concat(version, RawPgClient.cstring("user"), RawPgClient.cstring(APP), new byte[] {0, 0})),
                withLength(concat(version, ascii("user"))));
        for (byte[] packet : bad) {
            assertFatal(sendAndAwaitClose(packet), "08P01", "invalid startup packet layout");
        }
    }

    // ------------------------------------------------------------------ all of it, next to a good client

    @Test
    void goodClientIsUnaffectedByConcurrentBadInput() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(2);
        List<RawPgClient> silent = new ArrayList<>();
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger errors = new AtomicInteger();
        AtomicReference<Throwable> firstError = new AtomicReference<>();
        try {
            for (int i = 0; i < 5; i++) {
                silent.add(RawPgClient.connect(h.port()));
            }
            Future<?> good = pool.submit(() -> {
                try (Connection c = h.connect(); PreparedStatement ps = c.prepareStatement("SELECT ?::int + 1, pg_sleep(0.005)")) {
                    for (int i = 0; i < 200; i++) {
                        try {
                            ps.setInt(1, i);
                            try (ResultSet rs = ps.executeQuery()) {
                                rs.next();
                                if (rs.getInt(1) != i + 1) {
                                    throw new AssertionError("query " + i + " returned " + rs.getInt(1));
                                }
                            }
                            ok.incrementAndGet();
                        } catch (SQLException | AssertionError e) {
                            errors.incrementAndGet();
                            firstError.compareAndSet(null, e);
                        }
                    }
                } catch (SQLException e) {
                    errors.incrementAndGet();
                    firstError.compareAndSet(null, e);
                }
            });
            Future<?> vanisher = pool.submit(() -> {
                for (int i = 0; i < 5 && !good.isDone(); i++) {
                    try (RawPgClient c = loggedIn()) {
                        c.sendQuery("SELECT pg_sleep(30) /* badinput_concurrent_vanish */");
                    }
                }
                return null;
            });
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            int rounds = 0;
            for (; rounds < 50 && !good.isDone() && System.nanoTime() < deadline; rounds++) {
                throwBadInputs(rounds);
            }
            good.get(60, TimeUnit.SECONDS);
            vanisher.get(30, TimeUnit.SECONDS);
            assertTrue(rounds > 0, "bad input was thrown while the good client ran");
            for (RawPgClient c : silent) {
                Outcome o = c.readUntilClosed(BOUND);
                assertTrue(o.closed(), "silent client closed by startup_timeout: " + o);
            }
            System.out.println("good client: " + ok.get() + " ok, " + errors.get() + " errors, next to " + rounds
                    + " rounds of bad input");
            if (firstError.get() != null) {
                throw new AssertionError(errors.get() + " errors on the good client", firstError.get());
            }
            assertEquals(200, ok.get());
            // The vanishing clients' queries must not outlive them (see vanishedClientsQueryIsStopped...).
            await("no badinput_concurrent_vanish query left running", () -> activeQueries("badinput_concurrent_vanish") == 0);
        } finally {
            pool.shutdownNow();
            assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS), "helper threads ended");
            for (RawPgClient c : silent) {
                c.close();
            }
            terminateQueries("badinput_concurrent_vanish");
        }
    }

    /** One round of the quick bad inputs, each checked. */
    private static void throwBadInputs(int round) throws Exception {
        assertFatal(sendAndAwaitClose(ByteBuffer.allocate(8).putInt(7).putInt(RawPgClient.PROTOCOL_3_0).array()),
                "08P01", "invalid length of startup packet");
        assertFatal(sendAndAwaitClose(RawPgClient.startupPacket(version(2, 0), appStartupParams())), "0A000", null);
        byte[] garbage = new byte[100];
        new Random(round).nextBytes(garbage);
        assertClosedWith08P01OrQuietly(sendAndAwaitClose(garbage));
        Map<String, String> replication = appStartupParams();
        replication.put("replication", "true");
        assertFatal(sendAndAwaitClose(RawPgClient.startupPacket(RawPgClient.PROTOCOL_3_0, replication)), "0A000", null);
        assertFatal(sendAndAwaitClose(RawPgClient.startupPacket(RawPgClient.PROTOCOL_3_0, Map.of("database", APP))),
                "28000", null);
        try (RawPgClient c = loggedIn()) {
            c.sendRaw(header('Q', 2 * MAX_MESSAGE_SIZE));
            assertFatal(c.readUntilClosed(BOUND), "08P01", "exceeds max_message_size");
        }
        try (RawPgClient c = loggedIn()) {
            c.sendRaw(header('Q', 2));
            assertFatal(c.readUntilClosed(BOUND), "08P01", "invalid message length");
        }
    }

    // ------------------------------------------------------------------ helpers

    private static Map<String, String> appStartupParams() {
        Map<String, String> params = new LinkedHashMap<>();
        params.put("user", APP);
        params.put("database", APP);
        return params;
    }

    private static RawPgClient loggedIn() throws IOException {
        RawPgClient c = RawPgClient.connect(h.port());
        try {
            List<Message> startup = c.login(APP, APP, RelayHarness.APP_PASSWORD);
            assertTrue(startup.stream().anyMatch(m -> m.type() == 'K'), "BackendKeyData: " + startup);
            return c;
        } catch (IOException | RuntimeException | Error e) {
            c.close();
            throw e;
        }
    }

    /** Connects, sends {@code bytes} and reads until pgrelay closes (or {@link #BOUND} passes). */
    private static Outcome sendAndAwaitClose(byte[] bytes) throws IOException {
        try (RawPgClient c = RawPgClient.connect(h.port())) {
            c.sendRaw(bytes);
            return c.readUntilClosed(BOUND);
        }
    }

    /** Sends on another thread, so that a peer which stops reading cannot block the test. */
    private static void sendBounded(RawPgClient c, byte[] bytes) throws Exception {
        ExecutorService sender = Executors.newSingleThreadExecutor();
        try {
            Future<?> f = sender.submit(() -> {
                try {
                    c.sendRaw(bytes);
                } catch (IOException e) {
                    // pgrelay closed the connection mid-write: what we read next tells why
                }
                return null;
            });
            try {
                f.get(BOUND.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                c.close();
                throw new AssertionError("pgrelay neither read nor closed within " + BOUND.toMillis() + "ms");
            }
        } finally {
            sender.shutdownNow();
        }
    }

    private static void assertFatal(Outcome o, String sqlState, String messagePart) {
        assertTrue(o.closed(), "pgrelay should have closed the connection: " + o);
        ErrorInfo e = o.error().orElseThrow(() -> new AssertionError("expected an ErrorResponse " + sqlState + ": " + o));
        assertEquals(sqlState, e.sqlState(), o.toString());
        assertEquals("FATAL", e.severity(), o.toString());
        if (messagePart != null) {
            assertTrue(e.message().contains(messagePart), "message should contain \"" + messagePart + "\": " + o);
        }
    }

    private static void assertClosedWith08P01OrQuietly(Outcome o) {
        assertTrue(o.closed(), "pgrelay should have closed the connection: " + o);
        o.error().ifPresent(e -> assertEquals("08P01", e.sqlState(), o.toString()));
    }

    private static void assertClosedAfterStartupTimeout(Outcome o) {
        assertClosedAfterStartupTimeout(o, o.elapsed());
    }

    private static void assertClosedAfterStartupTimeout(Outcome o, Duration sinceConnect) {
        assertClosedWith08P01OrQuietly(o);
        assertTrue(sinceConnect.compareTo(STARTUP_TIMEOUT.minusMillis(200)) >= 0,
                "closed by the startup timeout, not before it: " + o);
        o.error().ifPresent(e -> assertTrue(e.message().contains("startup_timeout"), o.toString()));
    }

    private static ByteBuffer lengthPrefix(int length) {
        return ByteBuffer.allocate(4).putInt(length);
    }

    private static byte[] withLength(byte[] body) {
        return concat(lengthPrefix(4 + body.length).array(), body);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static Arguments bad(String name, byte[] message, String sqlState) {
        return Arguments.of(Named.of(name, message), sqlState);
    }

    private static Arguments badFinal(String name, Function<String, String> clientFinal, String sqlState) {
        return Arguments.of(Named.of(name, clientFinal), sqlState);
    }

    /** Server connections leased to clients right now, summed over pgrelay's pools (read on their loops). */
    private static int leasedServers() throws Exception {
        int sum = 0;
        for (Pool p : h.relay().services().pools().all()) {
            sum += p.loop().submit(p::active).get(5, TimeUnit.SECONDS);
        }
        return sum;
    }

    private static int activeQueries(String marker) throws SQLException {
        try (Connection c = h.direct(); PreparedStatement ps = c.prepareStatement(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE ? AND pid <> pg_backend_pid()")) {
            ps.setString(1, "%" + marker + "%");
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    private static String backendState(int pid) throws SQLException {
        try (Connection c = h.direct(); PreparedStatement ps = c.prepareStatement(
                "SELECT coalesce(state, '') FROM pg_stat_activity WHERE pid = ?")) {
            ps.setInt(1, pid);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    private static boolean backendAlive(int pid) throws SQLException {
        return backendState(pid) != null;
    }

    private static boolean backendIdleOrGone(int pid) throws SQLException {
        String state = backendState(pid);
        return state == null || state.equals("idle");
    }

    /** Sends a signal to a PostgreSQL backend of this test's cluster (the fixture runs it locally). */
    private static void signal(String signal, int pid) throws Exception {
        Process p = new ProcessBuilder("kill", "-" + signal, String.valueOf(pid)).redirectErrorStream(true).start();
        if (!p.waitFor(5, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("kill -" + signal + " " + pid + " did not finish");
        }
        assertEquals(0, p.exitValue(), "kill -" + signal + " " + pid + ": " + new String(p.getInputStream().readAllBytes()));
    }

    /** Ends queries a failed case left running, so that they cannot disturb the next cases. */
    private static void terminateQueries(String marker) throws SQLException {
        try (Connection c = h.direct(); PreparedStatement ps = c.prepareStatement(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE ? AND pid <> pg_backend_pid()")) {
            ps.setString(1, "%" + marker + "%");
            try (ResultSet rs = ps.executeQuery()) {
                int n = 0;
                while (rs.next() && n < 1000) {
                    n++;
                }
                if (n > 0) {
                    System.out.println("terminated " + n + " backend(s) still running '" + marker + "'");
                }
            }
        }
    }

    private interface Check {
        boolean ok() throws Exception;
    }

    /** Polls {@code check} every 50 ms for up to {@link #BOUND}. */
    private static void await(String what, Check check) throws Exception {
        long deadline = System.nanoTime() + BOUND.toNanos();
        for (int i = 0; i < 1000; i++) {
            if (check.ok()) {
                return;
            }
            if (System.nanoTime() > deadline) {
                break;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("timed out after " + BOUND.toMillis() + "ms waiting for " + what);
    }
}
