package io.pgrelay.pool;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.pgrelay.pool.FakePostgres.Backend;
import io.pgrelay.wire.SqlState;
import io.pgrelay.wire.codec.Frames;
import io.pgrelay.wire.codec.TrackingAllocator;
import io.pgrelay.wire.message.backend.BackendMessage;
import io.pgrelay.wire.message.backend.TransactionStatus;
import io.pgrelay.wire.message.frontend.FrontendMessage;
import io.pgrelay.wire.message.frontend.StartupPacket.StartupMessage;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A pool of size 2 against a scripted PostgreSQL that trusts every connection and answers each
 * simple Query with CommandComplete and ReadyForQuery ('T' after BEGIN, 'I' otherwise). Every pool
 * call runs on the pool's event loop, as in production.
 */
class PoolTest {
    private static final Map<String, String> APP_A = Map.of("application_name", "a");
    private static final Map<String, String> APP_B = Map.of("application_name", "b");
    private static final BackendCredentials NONE = BackendCredentials.None.INSTANCE;
    private static final String BAD_RESET = "RESET EVERYTHING";

    private final TrackingAllocator alloc = new TrackingAllocator();
    private MultiThreadIoEventLoopGroup serverGroup;
    private MultiThreadIoEventLoopGroup clientGroup;
    private FakePostgres pg;
    private EventLoop loop;
    private PoolKey key;
    private Pool pool;

    @BeforeEach
    void start() throws Exception {
        serverGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        clientGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        loop = clientGroup.next();
        pg = new FakePostgres(serverGroup, alloc, () -> new FakePostgres.Script() {
            @Override
            public void onStartup(Backend backend, StartupMessage startup) {
                FakePostgres.trust(backend, 1000 + backend.number);
            }

            @Override
            public void onMessage(Backend backend, ByteBuf message) {
                if (message.getByte(message.readerIndex()) != 'Q') {
                    return;
                }
                String sql = Frames.readCString(message, message.readerIndex() + 5, message.writerIndex());
                switch (sql) {
                    case "BEGIN" -> backend.complete("BEGIN", TransactionStatus.IN_TRANSACTION);
                    case BAD_RESET -> {
                        ByteBuf out = backend.channel.alloc().buffer();
                        BackendMessage.Errors.error("42601", "syntax error at or near \"EVERYTHING\"").encode(out);
                        new BackendMessage.ReadyForQuery(TransactionStatus.IDLE).encode(out);
                        backend.channel.writeAndFlush(out);
                    }
                    default -> backend.complete(sql.split(" ")[0], TransactionStatus.IDLE);
                }
            }
        });
        key = new PoolKey(pg.address("primary"), "shop", "alice");
        pool = poolWith("DISCARD ALL");
    }

    @AfterEach
    void stop() throws Exception {
        try {
            pg.close();
        } finally {
            clientGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            serverGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
        alloc.assertAllReleased();
    }

    @Test
    void leaseOpensAConnection() throws Exception {
        assertCounts(0, 0, 0, 0);

        ServerConnection s1 = lease(APP_A);

        assertEquals(ServerState.ACTIVE, s1.state());
        assertEquals(1000, s1.processId());
        assertEquals(APP_A, s1.startupParameters());
        assertEquals(Map.of("user", "alice", "database", "shop", "application_name", "a"), pg.backend(0).startup().parameters());
        assertCounts(1, 0, 1, 0);
    }

    @Test
    void releasedConnectionIsResetAndReusedForTheSameParameters() throws Exception {
        ServerConnection s1 = lease(APP_A);

        onLoop(() -> pool.release(s1));
        await(() -> pool.idle() == 1, "connection idle after reset");

        assertEquals(List.of("DISCARD ALL"), pg.backend(0).queries());
        assertEquals(ServerState.IDLE, s1.state());
        assertCounts(1, 1, 0, 0);

        ServerConnection again = lease(APP_A);

        assertSame(s1, again);
        assertEquals(ServerState.ACTIVE, again.state());
        assertCounts(1, 0, 1, 0);
        assertEquals(1, pg.connections());
    }

    @Test
    void leasedConnectionForwardsTheServersOutput() throws Exception {
        RecordingListener listener = new RecordingListener();
        ServerConnection s1 = lease(APP_A, listener);

        query(s1, "SELECT 1");
        await(() -> !s1.busy(), "query answered");

        assertEquals(List.of('Z'), listener.messages);
        assertEquals(12 + 6, listener.bytes, "CommandComplete SELECT and ReadyForQuery forwarded whole");
    }

    @Test
    void differentStartupParametersOpenANewConnection() throws Exception {
        ServerConnection s1 = lease(APP_A);
        onLoop(() -> pool.release(s1));
        await(() -> pool.idle() == 1, "connection idle after reset");

        ServerConnection s2 = lease(APP_B);

        assertNotSame(s1, s2);
        assertEquals(APP_B, s2.startupParameters());
        assertEquals("b", pg.backend(1).startup().parameters().get("application_name"));
        assertCounts(2, 1, 1, 0);

        assertSame(s1, lease(APP_A), "the idle connection still serves its own parameters");
        assertCounts(2, 0, 2, 0);
    }

    @Test
    void leaseBeyondSizeWaitsAndIsServedOnRelease() throws Exception {
        ServerConnection s1 = lease(APP_A);
        lease(APP_A);

        Future<ServerConnection> third = leaseLater(APP_A);

        assertFalse(third.isDone());
        assertCounts(2, 0, 2, 1);

        onLoop(() -> pool.release(s1));

        assertSame(s1, get(third));
        assertCounts(2, 0, 2, 0);
        assertEquals(2, pg.connections());
        assertEquals(List.of("DISCARD ALL"), pg.backend(0).queries());
    }

    @Test
    void waiterTimesOutAfterWaitTimeout() throws Exception {
        lease(APP_A);
        lease(APP_A);

        long started = System.nanoTime();
        Future<ServerConnection> third = leaseLater(APP_A);
        assertTrue(third.await(3, TimeUnit.SECONDS));
        long elapsedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);

        PoolException e = assertInstanceOf(PoolException.class, third.cause());
        assertEquals(SqlState.TOO_MANY_CONNECTIONS, e.sqlState());
        assertTrue(e.getMessage().contains("pool shop/alice@primary"), e.getMessage());
        assertTrue(e.getMessage().contains("query_wait_timeout 300ms"), e.getMessage());
        assertTrue(e.getMessage().contains("pool_size 2"), e.getMessage());
        assertTrue(elapsedMillis >= 290 && elapsedMillis < 2000, "failed after " + elapsedMillis + "ms");
        assertCounts(2, 0, 2, 0);
    }

    @Test
    void fullPoolReplacesAnIdleConnectionOfOtherParameters() throws Exception {
        ServerConnection s1 = lease(APP_A);
        lease(APP_A);
        onLoop(() -> pool.release(s1));
        await(() -> pool.idle() == 1, "connection idle after reset");
        assertCounts(2, 1, 1, 0);

        ServerConnection s3 = lease(APP_B);

        assertEquals(ServerState.CLOSED, s1.state());
        assertEquals(APP_B, s3.startupParameters());
        assertCounts(2, 0, 2, 0);
        pg.backend(0).awaitClosed();
        assertTrue(pg.backend(0).terminated(), "closed with Terminate");
        assertEquals(3, pg.connections());
    }

    /** A waiter for other parameters gets the released connection's slot; the waiter behind it keeps its place. */
    @Test
    void waiterForOtherParametersGetsASwappedConnection() throws Exception {
        ServerConnection s1 = lease(APP_A);
        ServerConnection s2 = lease(APP_A);
        Future<ServerConnection> wantsB = leaseLater(APP_B);
        Future<ServerConnection> wantsA = leaseLater(APP_A);
        assertCounts(2, 0, 2, 2);

        onLoop(() -> pool.release(s1));
        ServerConnection b = get(wantsB);

        assertEquals(APP_B, b.startupParameters());
        assertEquals(ServerState.CLOSED, s1.state());
        assertFalse(wantsA.isDone());
        assertEquals(1, call(pool::waiting), "the second waiter is still queued");
        assertEquals(2, call(pool::total), "never more connections than pool_size");

        onLoop(() -> pool.release(s2));

        assertSame(s2, get(wantsA));
        assertCounts(2, 0, 2, 0);
        assertEquals(3, pg.connections(), "exactly one connection opened for the swap");
    }

    @Test
    void connectionReleasedInTransactionIsClosed() throws Exception {
        ServerConnection s1 = lease(APP_A);
        query(s1, "BEGIN");
        await(() -> s1.transactionStatus() == TransactionStatus.IN_TRANSACTION && !s1.busy(), "BEGIN answered");

        onLoop(() -> pool.release(s1));

        assertEquals(ServerState.CLOSED, s1.state());
        assertCounts(0, 0, 0, 0);
        pg.backend(0).awaitClosed();
        assertEquals(List.of("BEGIN"), pg.backend(0).queries(), "no reset on a connection that is closed");
        assertTrue(pg.backend(0).terminated());
    }

    @Test
    void connectionReleasedWhileBusyIsClosed() throws Exception {
        ServerConnection s1 = lease(APP_A);
        onLoop(s1::expectReadyForQuery);
        assertTrue(call(s1::busy));

        onLoop(() -> pool.release(s1));

        assertEquals(ServerState.CLOSED, s1.state());
        assertCounts(0, 0, 0, 0);
        pg.backend(0).awaitClosed();
        assertEquals(List.of(), pg.backend(0).queries());
    }

    @Test
    void failedResetClosesTheConnection() throws Exception {
        pool = poolWith(BAD_RESET);
        ServerConnection s1 = lease(APP_A);

        onLoop(() -> pool.release(s1));

        pg.backend(0).awaitClosed();
        await(() -> pool.total() == 0, "connection dropped");
        assertEquals(ServerState.CLOSED, s1.state());
        assertCounts(0, 0, 0, 0);
        assertEquals(List.of(BAD_RESET), pg.backend(0).queries());
    }

    @Test
    void idleConnectionClosedByTheServerIsDropped() throws Exception {
        ServerConnection s1 = lease(APP_A);
        onLoop(() -> pool.release(s1));
        await(() -> pool.idle() == 1, "connection idle after reset");

        pg.backend(0).close();
        await(() -> pool.total() == 0, "closed idle connection dropped");

        assertCounts(0, 0, 0, 0);
        assertEquals(ServerState.CLOSED, s1.state());
        ServerConnection s2 = lease(APP_A);
        assertNotSame(s1, s2);
        assertEquals(1001, s2.processId());
        assertCounts(1, 0, 1, 0);
    }

    @Test
    void leasedConnectionClosedByTheServerFreesItsSlotForAWaiter() throws Exception {
        RecordingListener listener = new RecordingListener();
        ServerConnection s1 = lease(APP_A, listener);
        lease(APP_A);
        Future<ServerConnection> third = leaseLater(APP_A);

        pg.backend(0).close();

        ServerConnection s3 = get(third);
        assertTrue(listener.closed.get(), "client told its server is gone");
        assertEquals(ServerState.CLOSED, s1.state());
        assertEquals(1002, s3.processId());
        assertCounts(2, 0, 2, 0);
    }

    @Test
    void emptyResetQuerySkipsTheReset() throws Exception {
        pool = poolWith("");
        ServerConnection s1 = lease(APP_A);

        int idleRightAfter = call(() -> {
            pool.release(s1);
            return pool.idle();
        });

        assertEquals(1, idleRightAfter, "pooled at once, without a round trip");
        assertCounts(1, 1, 0, 0);
        assertSame(s1, lease(APP_A));
        assertEquals(List.of(), pg.backend(0).queries());
    }

    @Test
    void failedConnectFreesItsSlot() throws Exception {
        int port;
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            port = socket.getLocalPort();
        }
        key = new PoolKey(new ServerAddress("gone", "127.0.0.1", port), "shop", "alice");
        pool = poolWith("DISCARD ALL");

        Future<ServerConnection> f = leaseLater(APP_A);

        assertTrue(f.await(3, TimeUnit.SECONDS));
        assertEquals(SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION, assertInstanceOf(PoolException.class, f.cause()).sqlState());
        assertCounts(0, 0, 0, 0);
    }

    @Test
    void pausedPoolQueuesLeasesUntilResume() throws Exception {
        ServerConnection s1 = lease(APP_A);
        onLoop(() -> pool.release(s1));
        await(() -> pool.idle() == 1, "connection idle after reset");

        pool.pause();
        Future<ServerConnection> waiting = leaseLater(APP_A);
        Thread.sleep(100);

        assertFalse(waiting.isDone(), "no lease while paused, though a connection is idle");
        assertCounts(1, 1, 0, 1);
        pool.resume();
        assertSame(s1, get(waiting));
        assertFalse(pool.paused());
        assertCounts(1, 0, 1, 0);
    }

    @Test
    void leaseWaitingForAPausedPoolStillTimesOut() throws Exception {
        pool.pause();

        Future<ServerConnection> waiting = leaseLater(APP_A);

        assertTrue(waiting.await(3, TimeUnit.SECONDS));
        assertEquals(SqlState.TOO_MANY_CONNECTIONS, assertInstanceOf(PoolException.class, waiting.cause()).sqlState());
        assertEquals(0, pg.connections(), "nothing opened while paused");
    }

    @Test
    void pausingADatabasePausesItsPoolsAlsoThoseCreatedLater() throws Exception {
        PoolSettings settings = PoolSettings.of(2, "", Duration.ofSeconds(1), Duration.ofMillis(300), 1 << 20, false, 100);
        Pools pools = new Pools(settings, new ServerConnector(new Bootstrap().channel(NioSocketChannel.class), settings));
        Pool before = call(() -> pools.pool(loop, key));

        pools.pause("shop");
        Pool after = call(() -> pools.pool(loop, new PoolKey(key.node(), "shop", "bob")));
        Pool other = call(() -> pools.pool(loop, new PoolKey(key.node(), "crm", "alice")));

        assertEquals(List.of(true, true, false), List.of(before.paused(), after.paused(), other.paused()));
        pools.pause(null);
        assertTrue(other.paused() && pools.paused("anything"));
        pools.resume("shop");
        assertTrue(before.paused(), "a pause of every database still holds");
        pools.resume(null);
        assertEquals(List.of(false, false, false), List.of(before.paused(), after.paused(), other.paused()));
    }

    @Test
    void serversAndCountersForTheAdminViews() throws Exception {
        ServerConnection s1 = lease(APP_A);
        ServerConnection s2 = lease(APP_A);
        assertEquals(List.of(s1, s2), call(pool::servers));

        query(s1, "SELECT 1");
        await(() -> !s1.busy(), "SELECT answered");
        query(s1, "BEGIN");
        await(() -> !s1.busy(), "BEGIN answered");
        onLoop(() -> pool.release(s2));
        await(() -> pool.idle() == 1, "s2 reset and idle");

        assertEquals(List.of(2L, 2L, 1L), call(() -> List.of(pool.serversOpened(), pool.answered(), pool.transactions())),
                "opened, ReadyForQuery while leased (not the reset's), of those idle");
        onLoop(s1::close);
        assertEquals(List.of(s2), call(pool::servers));
    }

    // --- helpers ---

    private Pool poolWith(String resetQuery) throws Exception {
        PoolSettings settings = PoolSettings.of(2, resetQuery, Duration.ofSeconds(1), Duration.ofMillis(300), 1 << 20, false, 100);
        Bootstrap template = new Bootstrap().channel(NioSocketChannel.class).option(ChannelOption.ALLOCATOR, alloc);
        Pools pools = new Pools(settings, new ServerConnector(template, settings));
        return call(() -> pools.pool(loop, key));
    }

    private ServerConnection lease(Map<String, String> params) throws Exception {
        return lease(params, new RecordingListener());
    }

    private ServerConnection lease(Map<String, String> params, ServerListener listener) throws Exception {
        return get(leaseLater(params, listener));
    }

    private Future<ServerConnection> leaseLater(Map<String, String> params) throws Exception {
        return leaseLater(params, new RecordingListener());
    }

    /**
     * Leases and attaches on the loop, as a client session does as soon as its lease completes; the
     * future completes once attached.
     */
    private Future<ServerConnection> leaseLater(Map<String, String> params, ServerListener listener) throws Exception {
        return call(() -> {
            Promise<ServerConnection> attached = loop.newPromise();
            pool.lease(params, NONE).addListener(done -> {
                if (done.isSuccess()) {
                    ServerConnection server = (ServerConnection) done.getNow();
                    server.attach(listener);
                    attached.setSuccess(server);
                } else {
                    attached.setFailure(done.cause());
                }
            });
            return attached;
        });
    }

    /** Sends a simple Query as a client session would. */
    private void query(ServerConnection server, String sql) throws Exception {
        onLoop(() -> {
            server.expectReadyForQuery();
            ByteBuf out = server.channel().alloc().buffer();
            new FrontendMessage.Query(sql).encode(out);
            server.write(out);
            server.flush();
        });
    }

    private static ServerConnection get(Future<ServerConnection> f) throws Exception {
        if (!f.await(3, TimeUnit.SECONDS)) {
            fail("lease still waiting");
        }
        if (!f.isSuccess()) {
            throw new AssertionError("lease failed", f.cause());
        }
        return f.getNow();
    }

    private void assertCounts(int total, int idle, int active, int waiting) throws Exception {
        int[] counts = call(() -> new int[] {pool.total(), pool.idle(), pool.active(), pool.waiting()});
        assertArrayEquals(new int[] {total, idle, active, waiting}, counts, "total, idle, active, waiting");
    }

    private <T> T call(Callable<T> task) throws Exception {
        return loop.submit(task).get(3, TimeUnit.SECONDS);
    }

    private void onLoop(Runnable task) throws Exception {
        loop.submit(task).get(3, TimeUnit.SECONDS);
    }

    /** Waits for a condition checked on the loop: the server's answer arrives asynchronously. */
    private void await(BooleanSupplier condition, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (!call(condition::getAsBoolean)) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting for: " + what);
            }
            Thread.sleep(2);
        }
    }

    /** The client side of a lease: counts what the server sends and releases it. */
    private static final class RecordingListener implements ServerListener {
        final List<Character> messages = new java.util.concurrent.CopyOnWriteArrayList<>();
        final AtomicBoolean closed = new AtomicBoolean();
        volatile int bytes;

        @Override
        public void onServerBytes(ByteBuf buf) {
            bytes += buf.readableBytes();
            buf.release();
        }

        @Override
        public boolean onServerMessage(byte type, ByteBuf buf, int start, int length) {
            messages.add((char) type);
            return true;
        }

        @Override
        public void onServerReadComplete() {
        }

        @Override
        public void onServerWritabilityChanged(boolean writable) {
        }

        @Override
        public void onServerClosed(ServerConnection server) {
            closed.set(true);
        }
    }
}
