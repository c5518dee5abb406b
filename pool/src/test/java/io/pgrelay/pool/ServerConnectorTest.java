package io.pgrelay.pool;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.Future;
import io.pgrelay.pool.FakePostgres.Backend;
import io.pgrelay.wire.SqlState;
import io.pgrelay.wire.WireException;
import io.pgrelay.wire.auth.Md5Password;
import io.pgrelay.wire.auth.ScramSecret;
import io.pgrelay.wire.auth.ScramServerSession;
import io.pgrelay.wire.codec.Frames;
import io.pgrelay.wire.codec.TrackingAllocator;
import io.pgrelay.wire.message.backend.BackendMessage;
import io.pgrelay.wire.message.backend.BackendMessage.AuthenticationSASL;
import io.pgrelay.wire.message.backend.BackendMessage.ParameterStatus;
import io.pgrelay.wire.message.backend.TransactionStatus;
import io.pgrelay.wire.message.frontend.StartupPacket.StartupMessage;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The connector against a scripted PostgreSQL on real TCP: startup, each auth method, and each way to fail. */
class ServerConnectorTest {
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final String USER = "alice";
    private static final String DATABASE = "shop";
    private static final String PASSWORD = "s3cret pässword";
    private static final byte[] MD5_SALT = {0x01, (byte) 0xA2, 0x33, (byte) 0xF4};
    private static final byte[] SCRAM_SALT = "sixteen byte slt".getBytes(StandardCharsets.US_ASCII);
    private static final int SCRAM_ITERATIONS = 4096;
    private static final ScramSecret SCRAM_SECRET = ScramSecret.fromPassword(PASSWORD, SCRAM_SALT, SCRAM_ITERATIONS);

    private final TrackingAllocator alloc = new TrackingAllocator();
    private MultiThreadIoEventLoopGroup serverGroup;
    private MultiThreadIoEventLoopGroup clientGroup;
    private FakePostgres pg;

    @BeforeEach
    void startGroups() {
        serverGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        clientGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    }

    @AfterEach
    void stopAll() throws Exception {
        try {
            if (pg != null) {
                pg.close();
            }
        } finally {
            clientGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            serverGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
        alloc.assertAllReleased();
    }

    // (a) trust: startup message, then the ParameterStatus / BackendKeyData before ReadyForQuery

    @ParameterizedTest(name = "split={0}")
    @ValueSource(booleans = {false, true})
    void trustedStartupCollectsParametersAndKey(boolean split) throws Exception {
        pg = fake(() -> (backend, startup) -> {
            BackendMessage[] reply = {
                    BackendMessage.AuthenticationOk.INSTANCE,
                    new ParameterStatus("server_version", "17.2"),
                    new ParameterStatus("TimeZone", "Europe/Berlin"),
                    new BackendMessage.BackendKeyData(4242, 0x5EED),
                    new BackendMessage.ReadyForQuery(TransactionStatus.IDLE)};
            if (split) {
                backend.sendSplit(reply);
            } else {
                backend.send(reply);
            }
        });
        Map<String, String> params = new LinkedHashMap<>();
        params.put("application_name", "psql");
        params.put("search_path", "app, public");

        ServerConnection server = connect(BackendCredentials.None.INSTANCE, params);

        StartupMessage startup = pg.backend(0).startup();
        assertEquals(196608, startup.protocolVersion());
        assertEquals(List.of("user", "database", "application_name", "search_path"), List.copyOf(startup.parameters().keySet()));
        assertEquals(Map.of("user", USER, "database", DATABASE, "application_name", "psql", "search_path", "app, public"),
                startup.parameters());
        assertEquals(params, server.startupParameters());
        assertEquals(Map.of("server_version", "17.2", "TimeZone", "Europe/Berlin"), server.parameterStatus());
        assertEquals(4242, server.processId());
        assertEquals(0x5EED, server.secretKey());
        assertEquals(key(), server.key());
        assertEquals(TransactionStatus.IDLE, server.transactionStatus());
        assertFalse(server.busy());
        assertTrue(server.channel().isActive());
        assertSame(server, server.channel().pipeline().get("server"), "startup handler replaced by the connection");
        assertFalse(server.channel().config().isAutoRead(), "no reads until a pool or client takes it");
        assertEquals(List.of(), pg.backend(0).received, "nothing sent after the startup message");
    }

    @Test
    void messagesInTheSameReadAsReadyForQueryReachTheConnection() throws Exception {
        pg = fake(() -> (backend, startup) -> backend.send(BackendMessage.AuthenticationOk.INSTANCE,
                new BackendMessage.ParameterStatus("server_version", "17.2"),
                new BackendMessage.BackendKeyData(7, 8),
                new BackendMessage.ReadyForQuery(TransactionStatus.IDLE),
                new BackendMessage.ParameterStatus("application_name", "changed right after startup")));

        ServerConnection server = connect(BackendCredentials.None.INSTANCE, Map.of());

        Map<String, String> status = server.channel().eventLoop().submit(server::parameterStatus).get(1, TimeUnit.SECONDS);
        assertEquals("changed right after startup", status.get("application_name"));
        assertEquals("17.2", status.get("server_version"));
    }

    // (b) cleartext

    @Test
    void cleartextPasswordIsSent() throws Exception {
        CompletableFuture<String> seen = new CompletableFuture<>();
        pg = fake(() -> passwordScript(BackendMessage.AuthenticationCleartextPassword.INSTANCE, PASSWORD, seen));

        connect(new BackendCredentials.Password(PASSWORD), Map.of());

        assertEquals(PASSWORD, seen.get(1, TimeUnit.SECONDS));
    }

    // (c) md5, from a password and from a stored hash

    @Test
    void md5ResponseFromPassword() throws Exception {
        String expected = Md5Password.response(Md5Password.hash(USER, PASSWORD), MD5_SALT);
        CompletableFuture<String> seen = new CompletableFuture<>();
        pg = fake(() -> passwordScript(new BackendMessage.AuthenticationMD5Password(MD5_SALT), expected, seen));

        connect(new BackendCredentials.Password(PASSWORD), Map.of());

        assertEquals(expected, seen.get(1, TimeUnit.SECONDS));
        assertTrue(expected.matches("md5[0-9a-f]{32}"), expected);
    }

    @Test
    void md5ResponseFromStoredHash() throws Exception {
        String expected = Md5Password.response(Md5Password.hash(USER, PASSWORD), MD5_SALT);
        CompletableFuture<String> seen = new CompletableFuture<>();
        pg = fake(() -> passwordScript(new BackendMessage.AuthenticationMD5Password(MD5_SALT), expected, seen));

        connect(new BackendCredentials.Md5Hash(Md5Password.hash(USER, PASSWORD)), Map.of());

        assertEquals(expected, seen.get(1, TimeUnit.SECONDS));
    }

    @Test
    void wrongMd5PasswordFailsWithTheServersError() throws Exception {
        String expected = Md5Password.response(Md5Password.hash(USER, PASSWORD), MD5_SALT);
        pg = fake(() -> passwordScript(new BackendMessage.AuthenticationMD5Password(MD5_SALT), expected, new CompletableFuture<>()));

        PoolException e = connectFailure(connector(Duration.ofSeconds(2)), new BackendCredentials.Password("wrong"));

        assertEquals(SqlState.INVALID_PASSWORD, e.sqlState());
        assertEquals(SqlState.INVALID_PASSWORD, e.serverError().sqlState());
        assertEquals("password authentication failed for user \"alice\"", e.getMessage());
    }

    // (d) SCRAM-SHA-256, with the password and with keys only

    @Test
    void scramWithPassword() throws Exception {
        ScramScript script = new ScramScript(SCRAM_SECRET);
        pg = fake(() -> script);

        ServerConnection server = connect(new BackendCredentials.Password(PASSWORD), Map.of());

        assertEquals("SCRAM-SHA-256", script.mechanism.get(1, TimeUnit.SECONDS));
        assertArrayEquals(clientKey(PASSWORD, SCRAM_SALT, SCRAM_ITERATIONS), script.clientKey.get(1, TimeUnit.SECONDS));
        assertEquals(7000, server.processId());
    }

    @Test
    void scramWithKeysOnly() throws Exception {
        byte[] clientKey = clientKey(PASSWORD, SCRAM_SALT, SCRAM_ITERATIONS);
        assertArrayEquals(SCRAM_SECRET.storedKey(), sha256(clientKey), "test derives the right ClientKey");
        ScramScript script = new ScramScript(SCRAM_SECRET);
        pg = fake(() -> script);

        ServerConnection server = connect(new BackendCredentials.ScramKeys(clientKey, SCRAM_SECRET.serverKey()), Map.of());

        assertArrayEquals(clientKey, script.clientKey.get(1, TimeUnit.SECONDS));
        assertEquals(7000, server.processId());
    }

    @Test
    void scramWithWrongPasswordFailsWithTheServersError() throws Exception {
        pg = fake(() -> new ScramScript(SCRAM_SECRET));

        PoolException e = connectFailure(connector(Duration.ofSeconds(2)), new BackendCredentials.Password("wrong"));

        assertEquals(SqlState.INVALID_PASSWORD, e.sqlState());
        assertEquals("password authentication failed for user \"alice\"", e.serverError().message());
    }

    /** A server that cannot prove it holds the verifier is not trusted, even after it accepts the proof. */
    @Test
    void scramServerWithWrongSignatureIsRefused() throws Exception {
        ScramScript script = new ScramScript(SCRAM_SECRET);
        script.forgeServerSignature = true;
        pg = fake(() -> script);

        PoolException e = connectFailure(connector(Duration.ofSeconds(2)), new BackendCredentials.Password(PASSWORD));

        assertEquals(SqlState.PROTOCOL_VIOLATION, e.sqlState());
        assertTrue(e.getMessage().contains("signature"), e.getMessage());
        assertNull(e.serverError());
        pg.backend(0).awaitClosed();
    }

    // (e) the server refuses with an ErrorResponse

    @Test
    void fatalErrorDuringStartupCarriesTheServersError() throws Exception {
        pg = fake(() -> (backend, startup) -> backend.fatal("3D000", "database \"shop\" does not exist"));

        PoolException e = connectFailure(connector(Duration.ofSeconds(2)), BackendCredentials.None.INSTANCE);

        assertEquals("3D000", e.sqlState());
        assertEquals("3D000", e.serverError().sqlState());
        assertEquals("FATAL", e.serverError().severity());
        assertEquals("database \"shop\" does not exist", e.getMessage());
    }

    // (f) the server hangs up

    @Test
    void serverClosingDuringStartupFails08006() throws Exception {
        pg = fake(() -> (backend, startup) -> backend.close());

        PoolException e = connectFailure(connector(Duration.ofSeconds(2)), BackendCredentials.None.INSTANCE);

        assertEquals(SqlState.CONNECTION_FAILURE, e.sqlState());
        assertTrue(e.getMessage().contains("closed the connection during startup"), e.getMessage());
        assertTrue(e.getMessage().contains("127.0.0.1:" + pg.port()), e.getMessage());
    }

    @Test
    void serverClosingMidAuthenticationFails08006() throws Exception {
        pg = fake(() -> new FakePostgres.Script() {
            @Override
            public void onStartup(Backend backend, StartupMessage startup) {
                backend.send(BackendMessage.AuthenticationCleartextPassword.INSTANCE);
            }

            @Override
            public void onMessage(Backend backend, ByteBuf message) {
                backend.close();
            }
        });

        PoolException e = connectFailure(connector(Duration.ofSeconds(2)), new BackendCredentials.Password(PASSWORD));

        assertEquals(SqlState.CONNECTION_FAILURE, e.sqlState());
    }

    // (g) nothing listening

    @Test
    void connectionRefusedFails08001NamingTheAddress() throws Exception {
        int port;
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            port = socket.getLocalPort();
        }
        ServerConnector connector = connector(Duration.ofSeconds(2));
        PoolKey key = new PoolKey(new ServerAddress("primary", "127.0.0.1", port), DATABASE, USER);

        PoolException e = failure(connector.connect(loop(), key, Map.of(), BackendCredentials.None.INSTANCE));

        assertEquals(SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION, e.sqlState());
        assertTrue(e.getMessage().contains("primary(127.0.0.1:" + port + ")"), e.getMessage());
        assertTrue(e.getMessage().toLowerCase(java.util.Locale.ROOT).contains("refused"), e.getMessage());
    }

    // (h) the server accepts but says nothing

    @Test
    void silentServerTimesOutAfterServerConnectTimeout() throws Exception {
        pg = fake(() -> (backend, startup) -> { });
        ServerConnector connector = connector(Duration.ofMillis(300));

        long started = System.nanoTime();
        PoolException e = connectFailure(connector, BackendCredentials.None.INSTANCE);
        long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);

        assertEquals(SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION, e.sqlState());
        assertTrue(e.getMessage().contains("server_connect_timeout 300ms"), e.getMessage());
        assertTrue(elapsedMillis >= 290 && elapsedMillis < 2000, "failed after " + elapsedMillis + "ms");
        pg.backend(0).awaitClosed();
    }

    // (i) the server asks for a password pgrelay does not have

    @Test
    void md5WithoutCredentialsFails28P01ExplainingWhatIsMissing() throws Exception {
        pg = fake(() -> passwordScript(new BackendMessage.AuthenticationMD5Password(MD5_SALT), "x", new CompletableFuture<>()));

        PoolException e = connectFailure(connector(Duration.ofSeconds(2)), BackendCredentials.None.INSTANCE);

        assertEquals(SqlState.INVALID_PASSWORD, e.sqlState());
        assertTrue(e.getMessage().contains("server asked for md5 authentication"), e.getMessage());
        assertTrue(e.getMessage().contains("no password for this user in the users file"), e.getMessage());
        assertInstanceOf(WireException.class, e.getCause());
        pg.backend(0).awaitClosed();
        assertEquals(List.of(), pg.backend(0).received, "no password message sent");
    }

    @Test
    void cleartextWithOnlyAnMd5HashFails28P01() throws Exception {
        pg = fake(() -> passwordScript(BackendMessage.AuthenticationCleartextPassword.INSTANCE, "x", new CompletableFuture<>()));

        PoolException e = connectFailure(connector(Duration.ofSeconds(2)),
                new BackendCredentials.Md5Hash(Md5Password.hash(USER, PASSWORD)));

        assertEquals(SqlState.INVALID_PASSWORD, e.sqlState());
        assertTrue(e.getMessage().contains("server asked for password authentication"), e.getMessage());
        assertTrue(e.getMessage().contains("only an md5 hash"), e.getMessage());
    }

    @Test
    void scramWithOnlyAnMd5HashFails28P01() throws Exception {
        pg = fake(() -> new ScramScript(SCRAM_SECRET));

        PoolException e = connectFailure(connector(Duration.ofSeconds(2)),
                new BackendCredentials.Md5Hash(Md5Password.hash(USER, PASSWORD)));

        assertEquals(SqlState.INVALID_PASSWORD, e.sqlState());
        assertTrue(e.getMessage().contains("server asked for SCRAM-SHA-256 authentication"), e.getMessage());
    }

    @Test
    void unsupportedAuthenticationMethodFails0A000() throws Exception {
        pg = fake(() -> (backend, startup) -> backend.send(new BackendMessage.AuthenticationUnsupported(7)));

        PoolException e = connectFailure(connector(Duration.ofSeconds(2)), new BackendCredentials.Password(PASSWORD));

        assertEquals(SqlState.FEATURE_NOT_SUPPORTED, e.sqlState());
        assertTrue(e.getMessage().contains("authentication method 7"), e.getMessage());
    }

    // --- scripts ---

    /** Asks for a password with {@code request}; accepts exactly {@code expected}, recording what came. */
    private static FakePostgres.Script passwordScript(BackendMessage request, String expected, CompletableFuture<String> seen) {
        return new FakePostgres.Script() {
            @Override
            public void onStartup(Backend backend, StartupMessage startup) {
                backend.send(request);
            }

            @Override
            public void onMessage(Backend backend, ByteBuf message) {
                int start = message.readerIndex();
                String response = message.getByte(start) == 'p'
                        ? Frames.readCString(message, start + 5, message.writerIndex()) : null;
                seen.complete(response);
                if (expected.equals(response)) {
                    FakePostgres.trust(backend, 7000);
                } else {
                    backend.fatal(SqlState.INVALID_PASSWORD, "password authentication failed for user \"" + USER + "\"");
                }
            }
        };
    }

    /** The server side of SCRAM-SHA-256, as PostgreSQL runs it with a stored verifier. */
    private static final class ScramScript implements FakePostgres.Script {
        final CompletableFuture<String> mechanism = new CompletableFuture<>();
        final CompletableFuture<byte[]> clientKey = new CompletableFuture<>();
        final ScramServerSession session;
        boolean forgeServerSignature;

        ScramScript(ScramSecret secret) {
            session = new ScramServerSession(secret, RANDOM);
        }

        @Override
        public void onStartup(Backend backend, StartupMessage startup) {
            backend.send(new AuthenticationSASL(List.of("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256")));
        }

        @Override
        public void onMessage(Backend backend, ByteBuf message) {
            int body = message.readerIndex() + 5;
            int end = message.writerIndex();
            try {
                if (!mechanism.isDone()) {
                    // SASLInitialResponse: mechanism, int32 length, client-first-message
                    int zero = Frames.cStringEnd(message, body, end);
                    mechanism.complete(Frames.readCString(message, body, end));
                    byte[] data = new byte[message.getInt(zero + 1)];
                    message.getBytes(zero + 5, data);
                    backend.send(new BackendMessage.AuthenticationSASLContinue(session.handleClientFirst(data)));
                } else {
                    byte[] data = new byte[end - body];
                    message.getBytes(body, data);
                    byte[] serverFinal = session.handleClientFinal(data);
                    clientKey.complete(session.clientKey());
                    if (forgeServerSignature) {
                        serverFinal = ("v=" + java.util.Base64.getEncoder().encodeToString(new byte[32]))
                                .getBytes(StandardCharsets.US_ASCII);
                    }
                    backend.send(new BackendMessage.AuthenticationSASLFinal(serverFinal), BackendMessage.AuthenticationOk.INSTANCE);
                    FakePostgres.ready(backend, 7000);
                }
            } catch (WireException e) {
                backend.fatal(e.sqlState(), SqlState.INVALID_PASSWORD.equals(e.sqlState())
                        ? "password authentication failed for user \"" + USER + "\"" : e.getMessage());
            }
        }
    }

    // --- helpers ---

    private FakePostgres fake(java.util.function.Supplier<FakePostgres.Script> scripts) throws InterruptedException {
        return new FakePostgres(serverGroup, alloc, scripts);
    }

    private EventLoop loop() {
        return clientGroup.next();
    }

    private ServerConnector connector(Duration connectTimeout) {
        PoolSettings settings = PoolSettings.of(2, "DISCARD ALL", connectTimeout, Duration.ofMillis(300), 1 << 20, false, 100);
        Bootstrap template = new Bootstrap().channel(NioSocketChannel.class).option(ChannelOption.ALLOCATOR, alloc);
        return new ServerConnector(template, settings);
    }

    private PoolKey key() {
        return new PoolKey(pg.address("primary"), DATABASE, USER);
    }

    private ServerConnection connect(BackendCredentials credentials, Map<String, String> params) throws Exception {
        Future<ServerConnection> f = connector(Duration.ofSeconds(2)).connect(loop(), key(), params, credentials);
        assertTrue(f.await(3, TimeUnit.SECONDS), "connect did not finish");
        if (!f.isSuccess()) {
            throw new AssertionError("connect failed", f.cause());
        }
        return f.getNow();
    }

    private PoolException connectFailure(ServerConnector connector, BackendCredentials credentials) throws Exception {
        return failure(connector.connect(loop(), key(), Map.of(), credentials));
    }

    private static PoolException failure(Future<ServerConnection> f) throws InterruptedException {
        assertTrue(f.await(3, TimeUnit.SECONDS), "connect did not finish");
        assertFalse(f.isSuccess(), "connect succeeded");
        return assertInstanceOf(PoolException.class, f.cause());
    }

    /** ClientKey = HMAC(SaltedPassword, "Client Key"), SaltedPassword = PBKDF2-HMAC-SHA-256 (RFC 5802). */
    private static byte[] clientKey(String password, byte[] salt, int iterations) throws Exception {
        PBEKeySpec spec = new PBEKeySpec(password.toCharArray(), salt, iterations, 256);
        byte[] salted = SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(salted, "HmacSHA256"));
        return mac.doFinal("Client Key".getBytes(StandardCharsets.US_ASCII));
    }

    private static byte[] sha256(byte[] data) throws Exception {
        return java.security.MessageDigest.getInstance("SHA-256").digest(data);
    }
}
