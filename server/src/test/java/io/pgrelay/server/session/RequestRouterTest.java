package io.pgrelay.server.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.pgrelay.conf.NodeConfig;
import io.pgrelay.conf.NodeRole;
import io.pgrelay.failover.Topology;
import io.pgrelay.failover.TopologyHolder;
import io.pgrelay.failover.Wal;
import io.pgrelay.router.Router;
import io.pgrelay.router.policy.ClientRoutingState;
import io.pgrelay.router.policy.Consistency;
import io.pgrelay.router.policy.RouteReason;
import io.pgrelay.router.policy.RoutingSettings;
import io.pgrelay.server.session.RequestRouter.Outcome;
import io.pgrelay.wire.message.backend.BackendMessage;
import io.pgrelay.wire.message.backend.BackendMessage.ErrorResponse;
import io.pgrelay.wire.message.backend.TransactionStatus;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class RequestRouterTest {
    private static final int MAX_HELD = 1024;

    private final Router router;
    private final ClientRoutingState routing = new ClientRoutingState(Consistency.EVENTUAL);
    private final List<BackendMessage> replies = new ArrayList<>();
    private final ArrayDeque<ByteBuf> held = new ArrayDeque<>();
    private RequestRouter requests;

    RequestRouterTest() {
        Instant now = Instant.now();
        Topology t = Topology.fromConfig(List.of(
                        new NodeConfig("primary", "127.0.0.1", 5432, NodeRole.PRIMARY, 1),
                        new NodeConfig("replica1", "127.0.0.1", 5433, NodeRole.REPLICA, 1)), now)
                .with("primary", n -> n.withObserved(NodeRole.PRIMARY,
                        new Wal(1, 1000, 0, 0, 0, Duration.ZERO, List.of(), now)))
                .with("replica1", n -> n.withObserved(NodeRole.REPLICA,
                        new Wal(1, 0, 1000, 1000, 0, Duration.ZERO, List.of(), now)));
        router = new Router(new TopologyHolder(t));
        requests = newRequests(Map.of());
    }

    private RequestRouter newRequests(Map<String, String> startup) {
        Map<String, String> p = new LinkedHashMap<>(Map.of("user", "app", "database", "app"));
        p.putAll(startup);
        return new RequestRouter(router, routing, SessionSettings.fromStartup(p), new HashMap<>(), MAX_HELD,
                replies::add);
    }

    @AfterEach
    void release() {
        held.forEach(ByteBuf::release);
        requests.release();
        router.close();
    }

    private static byte[] query(String sql) {
        return message('Q', cstring(sql));
    }

    private static byte[] parse(String sql) {
        byte[] text = cstring(sql);
        byte[] body = new byte[1 + text.length + 2];
        System.arraycopy(text, 0, body, 1, text.length);
        return message('P', body);
    }

    private static byte[] bind() {
        return message('B', new byte[] {0, 0, 0, 0, 0, 0, 0, 0});
    }

    private static byte[] describePortal() {
        return message('D', new byte[] {'P', 0});
    }

    private static byte[] execute() {
        return message('E', new byte[] {0, 0, 0, 0, 0});
    }

    private static byte[] sync() {
        return message('S', new byte[0]);
    }

    private static byte[] cstring(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        byte[] c = new byte[b.length + 1];
        System.arraycopy(b, 0, c, 0, b.length);
        return c;
    }

    private static byte[] message(char type, byte[] body) {
        ByteBuf b = Unpooled.buffer();
        b.writeByte(type).writeInt(body.length + 4).writeBytes(body);
        return ByteBufUtil.getBytes(b);
    }

    private static byte[] concat(byte[]... parts) {
        ByteBuf b = Unpooled.buffer();
        for (byte[] p : parts) {
            b.writeBytes(p);
        }
        return ByteBufUtil.getBytes(b);
    }

    /** Holds {@code bytes[from, to)} as one more TCP read and routes what is held. */
    private Outcome read(byte[] bytes, int from, int to) {
        held.add(Unpooled.copiedBuffer(bytes, from, to - from));
        return requests.next(held, ByteBufAllocator.DEFAULT);
    }

    private Outcome read(byte[] bytes) {
        return read(bytes, 0, bytes.length);
    }

    /** The held bytes went to the server. */
    private void sent() {
        held.forEach(ByteBuf::release);
        held.clear();
    }

    private String where() {
        return requests.node().name() + " " + requests.reason();
    }

    @Test
    void aQuerySplitAcrossReadsIsRoutedOnceWhole() {
        byte[] q = query("SELECT abalance FROM pgbench_accounts WHERE aid = 17");
        assertEquals(Outcome.WAIT_FOR_BYTES, read(q, 0, 3), "not even a header yet");
        assertEquals(Outcome.WAIT_FOR_BYTES, read(q, 3, 20));
        assertEquals(Outcome.WAIT_FOR_BYTES, read(q, 20, q.length - 1));
        assertEquals(Outcome.ROUTED, read(q, q.length - 1, q.length));
        assertEquals("replica1 REPLICA_READ", where());
        assertTrue(requests.replica());
        assertEquals(4, held.size(), "routing leaves the held bytes to be sent");
    }

    @Test
    void anExtendedQueryBatchWaitsForItsSyncByteByByte() {
        byte[] batch = concat(parse("SELECT 1"), bind(), execute(), sync());
        for (int i = 0; i < batch.length - 1; i++) {
            assertEquals(Outcome.WAIT_FOR_BYTES, read(batch, i, i + 1), "after byte " + i);
        }
        assertEquals(Outcome.ROUTED, read(batch, batch.length - 1, batch.length));
        assertEquals("replica1 REPLICA_READ", where());
    }

    @Test
    void aWriteInAWholeBatchGoesToThePrimary() {
        assertEquals(Outcome.ROUTED, read(concat(parse("SELECT 1"), bind(), execute(),
                parse("INSERT INTO t VALUES (1)"), bind(), execute(), sync())));
        assertEquals("primary CLASSIFIED_PRIMARY", where());
    }

    @Test
    void heldBytesAreBoundedByMaxMessageSize() {
        byte[] big = parse("SELECT '" + "x".repeat(MAX_HELD) + "'");
        assertEquals(Outcome.ROUTED, read(big, 0, 10), "a message larger than the limit is not waited for");
        assertEquals("primary CLASSIFIED_PRIMARY", where());
        assertFalse(requests.replica());
        sent();
        byte[] unsynced = concat(parse("SELECT 1"), bind(), execute());
        Outcome last = null;
        int total = 0;
        while (total < MAX_HELD) {
            last = read(unsynced);
            total += unsynced.length;
            assertEquals(total >= MAX_HELD ? Outcome.ROUTED : Outcome.WAIT_FOR_BYTES, last, "after " + total + " bytes");
        }
        assertEquals("primary CLASSIFIED_PRIMARY", where(), "an unfinished request that reached the limit");
    }

    @Test
    void aFunctionCallOrFlushIsRoutedWithoutWaiting() {
        assertEquals(Outcome.ROUTED, read(concat(parse("SELECT 1"), bind(), execute(), message('H', new byte[0]))));
        assertEquals("primary CLASSIFIED_PRIMARY", where(), "not a whole request: the primary");
    }

    @Test
    void beginReadOnlyIsAnsweredByPgrelayAndItsTransactionRunsOnAReplica() {
        byte[] begin = query("BEGIN READ ONLY");
        assertEquals(Outcome.ANSWERED, read(begin));
        assertEquals(List.of(new BackendMessage.CommandComplete("BEGIN"),
                new BackendMessage.ReadyForQuery(TransactionStatus.IN_TRANSACTION)), replies);
        assertTrue(held.isEmpty());
        assertEquals(Outcome.ROUTED, read(query("SELECT 1")));
        assertEquals("replica1 READ_ONLY_TRANSACTION", where());
        ByteBuf kept = requests.pollPreamble();
        try {
            assertEquals(Unpooled.wrappedBuffer(begin), kept, "the BEGIN is sent first on the chosen node");
        } finally {
            kept.release();
        }
        assertNull(requests.pollPreamble());
    }

    @Test
    void aBeginAfterACommentOrBlanksIsAnsweredToo() {
        assertEquals(Outcome.ANSWERED, read(query("/* app: report */\n  begin read only;")));
        assertEquals(Outcome.ROUTED, read(query("SELECT 1")));
        assertEquals("replica1 READ_ONLY_TRANSACTION", where());
    }

    @Test
    void aHintOnTheBeginLeavesItToTheServer() {
        assertEquals(Outcome.ROUTED, read(query("/* pgrelay: primary */ BEGIN READ ONLY")));
        assertEquals("primary CLASSIFIED_PRIMARY", where());
        assertTrue(replies.isEmpty());
    }

    @Test
    void startTransactionWithIsolationAndReadOnlyRunsOnAReplica() {
        assertEquals(Outcome.ANSWERED, read(query("START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")));
        assertEquals(new BackendMessage.CommandComplete("START TRANSACTION"), replies.getFirst());
        assertEquals(Outcome.ROUTED, read(query("SELECT 1")));
        assertEquals("replica1 READ_ONLY_TRANSACTION", where());
    }

    @Test
    void setTransactionReadOnlyAfterBeginMakesItReadOnly() {
        assertEquals(Outcome.ANSWERED, read(concat(query("BEGIN"), query("SET TRANSACTION READ ONLY"))));
        assertEquals(List.of(new BackendMessage.CommandComplete("BEGIN"),
                new BackendMessage.ReadyForQuery(TransactionStatus.IN_TRANSACTION),
                new BackendMessage.CommandComplete("SET"),
                new BackendMessage.ReadyForQuery(TransactionStatus.IN_TRANSACTION)), replies);
        assertEquals(Outcome.ROUTED, read(query("SELECT 1")));
        assertEquals("replica1 READ_ONLY_TRANSACTION", where());
    }

    @Test
    void aPlainBeginStaysOnThePrimary() {
        assertEquals(Outcome.ANSWERED, read(query("BEGIN")));
        assertEquals(Outcome.ROUTED, read(query("SELECT 1")));
        assertEquals("primary WRITE_TRANSACTION", where());
    }

    @Test
    void defaultTransactionReadOnlyMakesBeginReadOnlyUnlessItSaysReadWrite() {
        requests = newRequests(Map.of("options", "-c default_transaction_read_only=on"));
        assertEquals(Outcome.ANSWERED, read(query("BEGIN")));
        assertEquals(Outcome.ROUTED, read(query("SELECT 1")));
        assertEquals("replica1 READ_ONLY_TRANSACTION", where());
        requests.release();
        sent();
        routing.readyForQuery('I', System.nanoTime());
        assertEquals(Outcome.ANSWERED, read(query("BEGIN READ WRITE")));
        assertEquals(Outcome.ROUTED, read(query("SELECT 1")));
        assertEquals("primary WRITE_TRANSACTION", where());
    }

    @Test
    void aSerializableReadOnlyTransactionRunsOnThePrimary() {
        assertEquals(Outcome.ANSWERED, read(query("BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY")));
        assertEquals(Outcome.ROUTED, read(query("SELECT 1")));
        assertEquals("primary SERIALIZABLE_TRANSACTION", where());
    }

    @Test
    void aBeginBatchedWithItsFirstStatementIsPlacedByThatStatement() {
        // The JDBC driver with autocommit off and setReadOnly(true).
        assertEquals(Outcome.ROUTED, read(concat(parse("BEGIN READ ONLY"), bind(), execute(),
                parse("SELECT 1"), bind(), execute(), sync())));
        assertEquals("replica1 READ_ONLY_TRANSACTION", where());
        assertTrue(replies.isEmpty(), "the server answers the batched BEGIN itself");
        assertNull(requests.pollPreamble());
    }

    @Test
    void anExtendedQueryBeginAloneIsAnsweredByPgrelayAndSentAsAQuery() {
        // The JDBC driver's execute("BEGIN READ ONLY") in autocommit mode.
        assertEquals(Outcome.ANSWERED, read(concat(parse("BEGIN READ ONLY"), bind(), describePortal(), execute(),
                sync())));
        assertEquals(List.of(BackendMessage.ParseComplete.INSTANCE, BackendMessage.BindComplete.INSTANCE,
                BackendMessage.NoData.INSTANCE, new BackendMessage.CommandComplete("BEGIN"),
                new BackendMessage.ReadyForQuery(TransactionStatus.IN_TRANSACTION)), replies);
        assertEquals(Outcome.ROUTED, read(concat(parse("SELECT 1"), bind(), describePortal(), execute(), sync())));
        assertEquals("replica1 READ_ONLY_TRANSACTION", where());
        ByteBuf kept = requests.pollPreamble();
        try {
            assertEquals(Unpooled.wrappedBuffer(query("BEGIN READ ONLY")), kept);
        } finally {
            kept.release();
        }
    }

    @Test
    void anExtendedQueryWithParametersOrBinaryResultsIsLeftToTheServer() {
        byte[] withParameter = message('B', new byte[] {0, 0, 0, 0, 0, 1, 0, 0, 0, 1, '1', 0, 0});
        assertEquals(Outcome.ROUTED, read(concat(parse("SHOW pgrelay.last_write_lsn"), withParameter, execute(), sync())));
        sent();
        byte[] binary = message('B', new byte[] {0, 0, 0, 0, 0, 0, 0, 1, 0, 1});
        assertEquals(Outcome.ROUTED, read(concat(parse("SHOW pgrelay.last_write_lsn"), binary, execute(), sync())));
        assertTrue(replies.isEmpty());
    }

    @Test
    void showLastWriteLsnThroughTheExtendedProtocol() {
        assertEquals(Outcome.ANSWERED, read(concat(parse("SHOW pgrelay.last_write_lsn"), bind(), describePortal(),
                execute(), sync())));
        assertEquals(List.of(BackendMessage.ParseComplete.INSTANCE, BackendMessage.BindComplete.INSTANCE,
                new BackendMessage.RowDescription(List.of(BackendMessage.Column.text("pgrelay.last_write_lsn"))),
                new BackendMessage.DataRow(java.util.Collections.singletonList(null)),
                new BackendMessage.CommandComplete("SHOW"), BackendMessage.ReadyForQuery.IDLE), replies);
    }

    @Test
    void showLastWriteLsnIsAnsweredByPgrelay() {
        assertEquals(Outcome.ANSWERED, read(query("show PGRELAY.last_write_lsn;")));
        assertEquals(List.of(new BackendMessage.RowDescription(List.of(BackendMessage.Column.text("pgrelay.last_write_lsn"))),
                new BackendMessage.DataRow(java.util.Collections.singletonList(null)),
                new BackendMessage.CommandComplete("SHOW"), BackendMessage.ReadyForQuery.IDLE), replies);
        assertEquals(Outcome.ROUTED, read(query("SHOW work_mem")));
        assertEquals("replica1 REPLICA_READ", where(), "other SHOWs go to a server");
    }

    @Test
    void aReadNoReplicaCanTakeIsRefusedWithAnErrorAndWhatFollowsIsRoutedAfresh() {
        // routing.on_no_replica: error, and the only replica not yet sampled by the monitor.
        Instant now = Instant.now();
        Topology t = Topology.fromConfig(List.of(
                        new NodeConfig("primary", "127.0.0.1", 5432, NodeRole.PRIMARY, 1),
                        new NodeConfig("replica1", "127.0.0.1", 5433, NodeRole.REPLICA, 1)), now)
                .with("primary", n -> n.withObserved(NodeRole.PRIMARY,
                        new Wal(1, 1000, 0, 0, 0, Duration.ZERO, List.of(), now)));
        try (Router strict = new Router(new TopologyHolder(t), new RoutingSettings(false, 0, null, true))) {
            requests.release();
            requests = new RequestRouter(strict, routing, SessionSettings.fromStartup(Map.of("user", "app")),
                    new HashMap<>(), MAX_HELD, replies::add);
            assertEquals(Outcome.ANSWERED, read(concat(query("SELECT 1"), query("SELECT 2"))));
            assertEquals(4, replies.size(), "each read refused on its own: " + replies);
            for (int k = 0; k < 4; k += 2) {
                ErrorResponse refused = (ErrorResponse) replies.get(k);
                assertEquals("57P03", refused.sqlState());
                assertFalse(refused.isFatal(), "the connection stays usable");
                assertEquals(new BackendMessage.ReadyForQuery(TransactionStatus.IDLE), replies.get(k + 1));
            }
            assertTrue(held.isEmpty());
            byte[] write = query("INSERT INTO t VALUES (1)");
            assertEquals(Outcome.ROUTED, read(write));
            assertEquals("primary CLASSIFIED_PRIMARY", where(), "a write still runs");
            assertEquals(write.length, held.stream().mapToInt(ByteBuf::readableBytes).sum(), "only the write is left");
        }
    }
}
