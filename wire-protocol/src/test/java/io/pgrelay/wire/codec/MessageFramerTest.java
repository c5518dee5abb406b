package io.pgrelay.wire.codec;

import static io.pgrelay.wire.codec.WireBytes.assertBytes;
import static io.pgrelay.wire.codec.WireBytes.concat;
import static io.pgrelay.wire.codec.WireBytes.dump;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.pgrelay.wire.SqlState;
import io.pgrelay.wire.WireException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Splitting, merging, zero-copy forwarding, dropping and limits of {@link MessageFramer}. */
class MessageFramerTest {
    private static final int MAX = 8 * 1024 * 1024;

    private final TrackingAllocator alloc = new TrackingAllocator();

    @AfterEach
    void everyBufferReleased() {
        alloc.assertAllReleasedThenFree();
    }

    // ---- a realistic backend response -------------------------------------------------------

    /** SELECT id, name FROM users: RowDescription, three DataRows, CommandComplete, ReadyForQuery. */
    private static final byte[] Z_IDLE = readyForQuery('I');
    private static final byte[] RESPONSE = concat(
            rowDescription("id", "name"),
            dataRow("1", "alice"),
            dataRow("2", "bob"),
            dataRow("3", null),
            commandComplete("SELECT 3"),
            Z_IDLE);

    /** SELECT now() inside a transaction block. */
    private static final byte[] Z_IN_TX = readyForQuery('T');
    private static final byte[] SECOND_RESPONSE = concat(
            rowDescription("now"),
            dataRow("2024-05-01 12:00:00+00"),
            commandComplete("SELECT 1"),
            Z_IN_TX);

    @Test
    void wholeResponseIsForwardedAsTheSameBuffer() {
        MessageFramer framer = new MessageFramer(MAX, "Z");
        Sink sink = new Sink();
        ByteBuf in = alloc.wrap(RESPONSE);

        sink.feed(framer, in);

        assertEquals(1, sink.forwardedBuffers.size(), "one forward for one read");
        assertSame(in, sink.forwardedBuffers.get(0), "the read buffer itself is forwarded (zero copy)");
        assertEquals(0, in.refCnt(), "ownership passed to the sink, which released it");
        assertBytes(RESPONSE, sink.forwardedBytes());
        sink.assertMessages(Z_IDLE);
        assertTrue(framer.atMessageBoundary());
    }

    @Test
    void responseFedOneByteAtATime() {
        MessageFramer framer = new MessageFramer(MAX, "Z");
        Sink sink = new Sink();

        for (int i = 0; i < RESPONSE.length; i++) {
            sink.feed(framer, alloc.wrap(RESPONSE, i, i + 1));
        }

        assertBytes(RESPONSE, sink.forwardedBytes());
        sink.assertMessages(Z_IDLE);
        assertTrue(framer.atMessageBoundary());
    }

    @Test
    void responseSplitAtEveryPositionIntoTwoReads() {
        for (int split = 0; split <= RESPONSE.length; split++) {
            MessageFramer framer = new MessageFramer(MAX, "Z");
            Sink sink = new Sink();

            sink.feed(framer, alloc.wrap(RESPONSE, 0, split));
            sink.feed(framer, alloc.wrap(RESPONSE, split, RESPONSE.length));

            String where = "split at " + split;
            assertBytes(RESPONSE, sink.forwardedBytes());
            sink.assertMessages(where, Z_IDLE);
            assertTrue(framer.atMessageBoundary(), where);
        }
    }

    @Test
    void twoResponsesMergedInOneRead() {
        byte[] both = concat(RESPONSE, SECOND_RESPONSE);
        MessageFramer framer = new MessageFramer(MAX, "Z");
        Sink sink = new Sink();
        ByteBuf in = alloc.wrap(both);

        sink.feed(framer, in);

        assertEquals(1, sink.forwardedBuffers.size());
        assertSame(in, sink.forwardedBuffers.get(0));
        assertBytes(both, sink.forwardedBytes());
        sink.assertMessages(Z_IDLE, Z_IN_TX);
    }

    @Test
    void twoMergedResponsesSplitAtEveryPosition() {
        byte[] both = concat(RESPONSE, SECOND_RESPONSE);
        for (int split = 0; split <= both.length; split++) {
            MessageFramer framer = new MessageFramer(MAX, "Z");
            Sink sink = new Sink();

            sink.feed(framer, alloc.wrap(both, 0, split));
            sink.feed(framer, alloc.wrap(both, split, both.length));

            assertBytes(both, sink.forwardedBytes());
            sink.assertMessages("split at " + split, Z_IDLE, Z_IN_TX);
            assertTrue(framer.atMessageBoundary());
        }
    }

    @Test
    void twoMergedResponsesInRandomReads() {
        byte[] both = concat(RESPONSE, SECOND_RESPONSE, RESPONSE);
        for (int seed = 0; seed < 500; seed++) {
            Random random = new Random(seed);
            int maxRead = 1 + random.nextInt(64);
            MessageFramer framer = new MessageFramer(MAX, "Z");
            Sink sink = new Sink();

            for (int from = 0; from < both.length; ) {
                int to = Math.min(both.length, from + 1 + random.nextInt(maxRead));
                sink.feed(framer, alloc.wrap(both, from, to));
                from = to;
            }

            assertBytes(both, sink.forwardedBytes());
            sink.assertMessages("seed " + seed, Z_IDLE, Z_IN_TX, Z_IDLE);
            assertTrue(framer.atMessageBoundary());
        }
    }

    // ---- dropping inspected messages --------------------------------------------------------

    private static final byte[] QUERY_1 = query("SELECT 1");
    private static final byte[] TERMINATE = message('X', new byte[0]);
    private static final byte[] QUERY_2 = query("SELECT 2");
    private static final byte[] Q_X_Q = concat(QUERY_1, TERMINATE, QUERY_2);

    @Test
    void droppedMessageIsCutOutOfTheStream() {
        MessageFramer framer = new MessageFramer(MAX, "X");
        Sink sink = new Sink(type -> type != 'X');

        sink.feed(framer, alloc.wrap(Q_X_Q));

        assertBytes(concat(QUERY_1, QUERY_2), sink.forwardedBytes());
        sink.assertMessages(TERMINATE);
    }

    @Test
    void droppedMessageIsCutOutAtEverySplit() {
        for (int split = 0; split <= Q_X_Q.length; split++) {
            MessageFramer framer = new MessageFramer(MAX, "X");
            Sink sink = new Sink(type -> type != 'X');

            sink.feed(framer, alloc.wrap(Q_X_Q, 0, split));
            sink.feed(framer, alloc.wrap(Q_X_Q, split, Q_X_Q.length));

            assertBytes(concat(QUERY_1, QUERY_2), sink.forwardedBytes());
            sink.assertMessages("split at " + split, TERMINATE);
        }
    }

    @Test
    void droppedMessageIsCutOutWhenFedOneByteAtATime() {
        MessageFramer framer = new MessageFramer(MAX, "X");
        Sink sink = new Sink(type -> type != 'X');

        for (int i = 0; i < Q_X_Q.length; i++) {
            sink.feed(framer, alloc.wrap(Q_X_Q, i, i + 1));
        }

        assertBytes(concat(QUERY_1, QUERY_2), sink.forwardedBytes());
        sink.assertMessages(TERMINATE);
    }

    /** What a proxy inserts before a shown message, after {@link MessageFramer#forwardPreceding}. */
    private static final byte[] INSERTED = message('1', new byte[0]);

    @ParameterizedTest(name = "keep the shown message: {0}")
    @ValueSource(booleans = {true, false})
    void bytesCanBeInsertedBeforeAShownMessageAtEverySplit(boolean keepIt) {
        for (int split = 0; split <= Q_X_Q.length; split++) {
            MessageFramer framer = new MessageFramer(MAX, "X");
            Sink sink = new Sink(type -> keepIt) {
                @Override
                public boolean onMessage(byte type, ByteBuf buf, int start, int length) {
                    framer.forwardPreceding();
                    forwarded.writeBytes(INSERTED);
                    return super.onMessage(type, buf, start, length);
                }
            };

            sink.feed(framer, alloc.wrap(Q_X_Q, 0, split));
            sink.feed(framer, alloc.wrap(Q_X_Q, split, Q_X_Q.length));

            byte[] expected = keepIt ? concat(QUERY_1, INSERTED, TERMINATE, QUERY_2) : concat(QUERY_1, INSERTED, QUERY_2);
            assertBytes(expected, sink.forwardedBytes());
            sink.assertMessages("split at " + split, TERMINATE);
        }
    }

    @Test
    void droppingTheOnlyMessageForwardsNothing() {
        MessageFramer framer = new MessageFramer(MAX, "X");
        Sink sink = new Sink(type -> false);
        ByteBuf in = alloc.wrap(TERMINATE);

        sink.feed(framer, in);

        assertEquals(0, sink.forwardedBuffers.size());
        assertEquals(0, in.refCnt());
        sink.assertMessages(TERMINATE);
    }

    // ---- large messages pass through without being held -------------------------------------

    @Test
    void megabyteDataRowIsForwardedAsItArrives() {
        byte[] big = new byte[1024 * 1024];
        new Random(42).nextBytes(big);
        byte[] stream = concat(dataRow(big), commandComplete("SELECT 1"), Z_IDLE);
        int read = 64 * 1024;
        MessageFramer framer = new MessageFramer(MAX, "Z");
        Sink sink = new Sink();

        int fed = 0;
        while (fed < stream.length) {
            int to = Math.min(stream.length, fed + read);
            ByteBuf in = alloc.wrap(stream, fed, to);
            int forwardsBefore = sink.forwardedBuffers.size();

            sink.feed(framer, in);
            fed = to;

            assertEquals(fed, sink.forwardedBytes().length, "everything read so far is forwarded, after " + fed);
            assertEquals(forwardsBefore + 1, sink.forwardedBuffers.size());
            assertSame(in, sink.forwardedBuffers.get(forwardsBefore), "the read itself is forwarded, after " + fed);
            if (fed < stream.length) {
                assertFalse(framer.atMessageBoundary(), "mid-message after " + fed);
            }
        }

        assertTrue(framer.atMessageBoundary());
        assertBytes(stream, sink.forwardedBytes());
        sink.assertMessages(Z_IDLE);
        assertEquals(17, sink.feeds, "1 MiB + 11 header/count bytes + C + Z in 64 KiB reads");
    }

    @Test
    void atMessageBoundaryTracksAPassThroughMessage() {
        byte[] row = dataRow("x".repeat(100));
        MessageFramer framer = new MessageFramer(MAX, "Z");
        Sink sink = new Sink();
        assertTrue(framer.atMessageBoundary());

        sink.feed(framer, alloc.wrap(row, 0, 3));
        assertFalse(framer.atMessageBoundary(), "half a header is held");
        sink.feed(framer, alloc.wrap(row, 3, 50));
        assertFalse(framer.atMessageBoundary(), "rest of the row is still to come");
        sink.feed(framer, alloc.wrap(row, 50, row.length));
        assertTrue(framer.atMessageBoundary());

        assertBytes(row, sink.forwardedBytes());
    }

    // ---- limits -----------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(ints = {3, 0, -1, Integer.MIN_VALUE})
    void lengthBelowFourIsAProtocolViolation(int length) {
        MessageFramer framer = new MessageFramer(MAX, "Z");
        Sink sink = new Sink();
        ByteBuf in = alloc.wrap(concat(QUERY_1, header('D', length), new byte[8]));

        WireException e = assertThrows(WireException.class, () -> framer.feed(in, sink));

        assertEquals(SqlState.PROTOCOL_VIOLATION, e.sqlState());
        assertEquals("08P01", e.sqlState());
        assertTrue(e.getMessage().contains(Integer.toString(length)), e.getMessage());
        assertTrue(e.getMessage().contains("'D'"), e.getMessage());
        assertEquals(0, in.refCnt(), "the input is released");
        assertEquals(0, sink.forwardedBuffers.size());
    }

    @ParameterizedTest
    @ValueSource(ints = {1025, 1 << 20, Integer.MAX_VALUE})
    void lengthAboveMaximumIsAProtocolViolation(int length) {
        MessageFramer framer = new MessageFramer(1024, "Z");
        Sink sink = new Sink();
        ByteBuf in = alloc.wrap(concat(header('D', length), new byte[16]));

        WireException e = assertThrows(WireException.class, () -> framer.feed(in, sink));

        assertEquals("08P01", e.sqlState());
        assertTrue(e.getMessage().contains(Integer.toString(length)), e.getMessage());
        assertTrue(e.getMessage().contains("1024"), e.getMessage());
        assertEquals("message length " + length + " exceeds max_message_size 1024", e.getMessage());
        assertEquals(0, in.refCnt(), "the input is released");
    }

    @Test
    void lengthAboveMaximumInAnInspectedMessage() {
        MessageFramer framer = new MessageFramer(1024, "Z");
        ByteBuf in = alloc.wrap(concat(header('Z', 1025), new byte[1]));

        WireException e = assertThrows(WireException.class, () -> framer.feed(in, new Sink()));

        assertEquals("08P01", e.sqlState());
        assertEquals(0, in.refCnt());
    }

    @Test
    void lengthEqualToMaximumIsAccepted() {
        byte[] body = new byte[1024 - 4];
        byte[] passThrough = message('D', body);
        byte[] inspected = message('Z', body);
        MessageFramer framer = new MessageFramer(1024, "Z");
        Sink sink = new Sink();

        sink.feed(framer, alloc.wrap(concat(passThrough, inspected)));

        assertBytes(concat(passThrough, inspected), sink.forwardedBytes());
        sink.assertMessages(inspected);
    }

    @Test
    void badLengthInAHeaderSplitAcrossReads() {
        byte[] bad = header('D', 2);
        MessageFramer framer = new MessageFramer(MAX, "Z");
        Sink sink = new Sink();
        ByteBuf second = alloc.wrap(bad, 2, bad.length);

        sink.feed(framer, alloc.wrap(bad, 0, 2));
        WireException e = assertThrows(WireException.class, () -> framer.feed(second, sink));

        assertEquals("08P01", e.sqlState());
        assertEquals("invalid message length 2 for message type 'D'", e.getMessage());
        assertEquals(0, second.refCnt(), "the input is released");
        framer.release();
    }

    // ---- inspecting everything (startup and authentication) ---------------------------------

    @Test
    void inspectingAllShowsEveryMessage() {
        byte[][] messages = {
            rowDescription("id", "name"), dataRow("1", "alice"), dataRow("2", "bob"), dataRow("3", null),
            commandComplete("SELECT 3"), Z_IDLE,
        };
        MessageFramer framer = MessageFramer.inspectingAll(MAX);
        Sink sink = new Sink();
        ByteBuf in = alloc.wrap(RESPONSE);

        sink.feed(framer, in);

        sink.assertMessages(messages);
        assertSame(in, sink.forwardedBuffers.get(0));
        assertBytes(RESPONSE, sink.forwardedBytes());
    }

    @Test
    void inspectingAllOneByteAtATime() {
        MessageFramer framer = MessageFramer.inspectingAll(MAX);
        Sink sink = new Sink();

        for (int i = 0; i < RESPONSE.length; i++) {
            sink.feed(framer, alloc.wrap(RESPONSE, i, i + 1));
        }

        sink.assertMessages(rowDescription("id", "name"), dataRow("1", "alice"), dataRow("2", "bob"),
                dataRow("3", null), commandComplete("SELECT 3"), Z_IDLE);
        assertBytes(RESPONSE, sink.forwardedBytes());
    }

    @Test
    void inspectedSetCanBeNarrowedAfterAuthentication() {
        byte[] authOk = message('R', new byte[] {0, 0, 0, 0});
        byte[] status = message('S', "client_encoding\0UTF8\0".getBytes(StandardCharsets.US_ASCII));
        byte[] keyData = message('K', new byte[] {0, 0, 0, 1, 0, 0, 0, 2});
        MessageFramer framer = MessageFramer.inspectingAll(MAX);
        Sink auth = new Sink();
        auth.feed(framer, alloc.wrap(concat(authOk, status, keyData, Z_IDLE)));
        auth.assertMessages(authOk, status, keyData, Z_IDLE);

        framer.inspect("Z");
        Sink active = new Sink();
        ByteBuf in = alloc.wrap(RESPONSE);
        active.feed(framer, in);

        active.assertMessages(Z_IDLE);
        assertSame(in, active.forwardedBuffers.get(0));
    }

    // ---- release ----------------------------------------------------------------------------

    @Test
    void releaseFreesAHeldHalfHeader() {
        MessageFramer framer = new MessageFramer(MAX, "Z");
        Sink sink = new Sink();
        sink.feed(framer, alloc.wrap(Z_IDLE, 0, 3));
        assertFalse(framer.atMessageBoundary());

        framer.release();

        assertTrue(framer.atMessageBoundary());
        assertEquals(0, sink.forwardedBuffers.size());
        // @AfterEach asserts that the held copy was released.
    }

    @Test
    void releaseFreesAHeldPartialInspectedMessage() {
        byte[] error = message('Z', new byte[200]);
        MessageFramer framer = new MessageFramer(MAX, "Z");
        Sink sink = new Sink();
        sink.feed(framer, alloc.wrap(concat(QUERY_1, Arrays.copyOf(error, 100))));
        assertBytes(QUERY_1, sink.forwardedBytes());

        framer.release();

        assertTrue(framer.atMessageBoundary());
        sink.assertMessages();
    }

    @Test
    void releaseWithNothingHeldIsHarmless() {
        MessageFramer framer = new MessageFramer(MAX, "Z");
        framer.release();
        framer.release();
        assertTrue(framer.atMessageBoundary());
    }

    // ---- the sink -----------------------------------------------------------------------------

    /** Copies and releases what it is given; records inspected messages and which feed saw them. */
    private static class Sink implements MessageFramer.Sink {
        final Predicate<Byte> keep;
        final ByteArrayOutputStream forwarded = new ByteArrayOutputStream();
        final List<ByteBuf> forwardedBuffers = new ArrayList<>();
        final List<byte[]> messages = new ArrayList<>();
        int feeds;

        Sink() {
            this(type -> true);
        }

        Sink(Predicate<Byte> keep) {
            this.keep = keep;
        }

        /** Feeds {@code in}, which the framer owns from now on, and checks that nothing kept it. */
        void feed(MessageFramer framer, ByteBuf in) {
            feeds++;
            framer.feed(in, this);
            assertEquals(0, in.refCnt(), "feed " + feeds + " left its input referenced");
        }

        @Override
        public boolean onMessage(byte type, ByteBuf buf, int start, int length) {
            assertTrue(buf.refCnt() > 0, "onMessage on a released buffer");
            assertEquals(type, buf.getByte(start), "type byte at start");
            assertEquals(length - 1, buf.getInt(start + 1), "length word matches the length shown");
            assertTrue(start >= 0 && start + length <= buf.capacity(), "message inside the buffer");
            byte[] copy = new byte[length];
            buf.getBytes(start, copy);
            messages.add(copy);
            return keep.test(type);
        }

        @Override
        public void forward(ByteBuf bytes) {
            assertTrue(bytes.refCnt() > 0, "forward of a released buffer");
            forwardedBuffers.add(bytes);
            forwarded.writeBytes(WireBytes.readable(bytes));
            bytes.release();
        }

        byte[] forwardedBytes() {
            return forwarded.toByteArray();
        }

        void assertMessages(byte[]... expected) {
            assertMessages("", expected);
        }

        void assertMessages(String where, byte[]... expected) {
            if (messages.size() != expected.length) {
                StringBuilder seen = new StringBuilder();
                for (byte[] m : messages) {
                    seen.append('\n').append(dump(m));
                }
                fail(where + ": expected " + expected.length + " inspected messages, saw " + messages.size() + seen);
            }
            for (int i = 0; i < expected.length; i++) {
                assertBytes(expected[i], messages.get(i));
            }
        }
    }

    // ---- message builders (independent of the code under test) ---------------------------------

    static byte[] message(char type, byte[] body) {
        return ByteBuffer.allocate(5 + body.length).put((byte) type).putInt(4 + body.length).put(body).array();
    }

    static byte[] header(char type, int length) {
        return ByteBuffer.allocate(5).put((byte) type).putInt(length).array();
    }

    static byte[] rowDescription(String... columns) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(int16(columns.length));
        for (int i = 0; i < columns.length; i++) {
            body.writeBytes(cstring(columns[i]));
            body.writeBytes(int32(16384));      // table OID
            body.writeBytes(int16(i + 1));      // column attribute number
            body.writeBytes(int32(25));         // type OID: text
            body.writeBytes(int16(-1));         // type size: variable
            body.writeBytes(int32(-1));         // type modifier
            body.writeBytes(int16(0));          // format: text
        }
        return message('T', body.toByteArray());
    }

    static byte[] dataRow(String... values) {
        byte[][] columns = new byte[values.length][];
        for (int i = 0; i < values.length; i++) {
            columns[i] = values[i] == null ? null : values[i].getBytes(StandardCharsets.UTF_8);
        }
        return dataRow(columns);
    }

    static byte[] dataRow(byte[]... columns) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        body.writeBytes(int16(columns.length));
        for (byte[] column : columns) {
            if (column == null) {
                body.writeBytes(int32(-1));
            } else {
                body.writeBytes(int32(column.length));
                body.writeBytes(column);
            }
        }
        return message('D', body.toByteArray());
    }

    static byte[] commandComplete(String tag) {
        return message('C', cstring(tag));
    }

    static byte[] readyForQuery(char status) {
        return message('Z', new byte[] {(byte) status});
    }

    static byte[] query(String sql) {
        return message('Q', cstring(sql));
    }

    private static byte[] cstring(String s) {
        return concat(s.getBytes(StandardCharsets.UTF_8), new byte[1]);
    }

    private static byte[] int16(int v) {
        return ByteBuffer.allocate(2).putShort((short) v).array();
    }

    private static byte[] int32(int v) {
        return ByteBuffer.allocate(4).putInt(v).array();
    }
}
