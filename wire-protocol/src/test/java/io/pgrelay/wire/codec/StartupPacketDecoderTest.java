package io.pgrelay.wire.codec;

import static io.pgrelay.wire.codec.WireBytes.assertBytes;
import static io.pgrelay.wire.codec.WireBytes.concat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.pgrelay.wire.WireException;
import io.pgrelay.wire.message.frontend.StartupPacket;
import io.pgrelay.wire.message.frontend.StartupPacket.CancelRequest;
import io.pgrelay.wire.message.frontend.StartupPacket.GssEncRequest;
import io.pgrelay.wire.message.frontend.StartupPacket.SslRequest;
import io.pgrelay.wire.message.frontend.StartupPacket.StartupMessage;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link StartupPacketDecoder} on an {@link EmbeddedChannel}: split, merged, self-removal, errors. */
class StartupPacketDecoderTest {
    private static final int V3_0 = 0x0003_0000;

    private final TrackingAllocator alloc = new TrackingAllocator();
    private final List<EmbeddedChannel> channels = new ArrayList<>();

    @AfterEach
    void closeChannelsAndCheckBuffers() {
        try {
            for (EmbeddedChannel channel : channels) {
                if (channel.pipeline().get(StartupPacketDecoder.class) != null) {
                    // Hands a failed packet's cumulation on as a ByteBuf instead of decoding it again on close.
                    channel.pipeline().remove(StartupPacketDecoder.class);
                }
                channel.finishAndReleaseAll();
            }
            alloc.assertAllReleased();
        } finally {
            alloc.releaseAll();
        }
    }

    // ---- StartupMessage ---------------------------------------------------------------------

    private static final byte[] STARTUP = startup(V3_0,
            "user", "alice", "database", "shop", "options", "-c search_path=app", "application_name", "psql");

    @Test
    void startupMessageKeepsParametersInClientOrder() {
        EmbeddedChannel channel = channel();
        ByteBuf in = alloc.wrap(STARTUP);

        assertTrue(channel.writeInbound(in));

        assertStartup(channel.readInbound());
        assertNull(channel.pipeline().get(StartupPacketDecoder.class), "decoder removed itself");
        assertEquals(0, in.refCnt());
        assertFalse(channel.finish());
    }

    @Test
    void startupMessageFedOneByteAtATime() {
        EmbeddedChannel channel = channel();
        List<ByteBuf> inputs = new ArrayList<>();

        for (int i = 0; i < STARTUP.length; i++) {
            ByteBuf in = alloc.wrap(STARTUP, i, i + 1);
            inputs.add(in);
            boolean produced = channel.writeInbound(in);
            assertEquals(i == STARTUP.length - 1, produced, "output after byte " + i);
        }

        assertStartup(channel.readInbound());
        assertNull(channel.pipeline().get(StartupPacketDecoder.class));
        assertFalse(channel.finish());
        for (ByteBuf in : inputs) {
            assertEquals(0, in.refCnt());
        }
    }

    @Test
    void databaseDefaultsToUser() {
        EmbeddedChannel channel = channel();
        channel.writeInbound(alloc.wrap(startup(V3_0, "user", "bob")));

        StartupMessage message = assertInstanceOf(StartupMessage.class, channel.readInbound());

        assertEquals("bob", message.user());
        assertEquals("bob", message.database());
        assertFalse(channel.finish());
    }

    @Test
    void emptyParameterValueIsAllowed() {
        EmbeddedChannel channel = channel();
        channel.writeInbound(alloc.wrap(startup(V3_0, "user", "bob", "options", "")));

        StartupMessage message = assertInstanceOf(StartupMessage.class, channel.readInbound());

        assertEquals(List.of("user", "options"), List.copyOf(message.parameters().keySet()));
        assertEquals("", message.parameters().get("options"));
        assertFalse(channel.finish());
    }

    @Test
    void sslRequestThenStartupMessage() {
        EmbeddedChannel channel = channel();

        channel.writeInbound(alloc.wrap(SSL_REQUEST));
        assertSame(SslRequest.INSTANCE, channel.readInbound());
        assertNull(channel.readInbound());
        assertNotNull(channel.pipeline().get(StartupPacketDecoder.class), "still waiting for the StartupMessage");

        channel.writeInbound(alloc.wrap(STARTUP));
        assertStartup(channel.readInbound());
        assertNull(channel.pipeline().get(StartupPacketDecoder.class));
        assertFalse(channel.finish());
    }

    @Test
    void sslRequestAndStartupMessageMergedInOneRead() {
        EmbeddedChannel channel = channel();

        channel.writeInbound(alloc.wrap(concat(SSL_REQUEST, STARTUP)));

        assertSame(SslRequest.INSTANCE, channel.readInbound());
        assertStartup(channel.readInbound());
        assertFalse(channel.finish());
    }

    @Test
    void gssEncRequest() {
        EmbeddedChannel channel = channel();

        channel.writeInbound(alloc.wrap(hex("00000008 04d21630")));

        assertSame(GssEncRequest.INSTANCE, channel.readInbound());
        assertNotNull(channel.pipeline().get(StartupPacketDecoder.class));
        assertFalse(channel.finish());
    }

    @Test
    void gssEncRequestThenSslRequestThenStartupOneByteAtATime() {
        byte[] all = concat(hex("00000008 04d21630"), SSL_REQUEST, STARTUP);
        EmbeddedChannel channel = channel();

        for (int i = 0; i < all.length; i++) {
            channel.writeInbound(alloc.wrap(all, i, i + 1));
        }

        assertSame(GssEncRequest.INSTANCE, channel.readInbound());
        assertSame(SslRequest.INSTANCE, channel.readInbound());
        assertStartup(channel.readInbound());
        assertFalse(channel.finish());
    }

    @Test
    void cancelRequest() {
        EmbeddedChannel channel = channel();
        ByteBuf in = alloc.wrap(hex("00000010 04d2162e 000004d2 0000162e"));

        channel.writeInbound(in);

        assertEquals(new CancelRequest(1234, 5678), channel.readInbound());
        assertNull(channel.pipeline().get(StartupPacketDecoder.class), "decoder removed itself");
        assertEquals(0, in.refCnt());
        assertFalse(channel.finish());
    }

    @Test
    void cancelRequestWithNegativeKeys() {
        EmbeddedChannel channel = channel();

        channel.writeInbound(alloc.wrap(hex("00000010 04d2162e ffffffff 80000000")));

        assertEquals(new CancelRequest(-1, Integer.MIN_VALUE), channel.readInbound());
        assertFalse(channel.finish());
    }

    @Test
    void cancelRequestOfWrongLengthIsAProtocolViolation() {
        WireException e = expectViolation(hex("0000000c 04d2162e 000004d2"));

        assertTrue(e.getMessage().contains("12"), e.getMessage());
    }

    @Test
    void handWrittenRequestCodesMatchTheDocs() {
        assertEquals(80877103, ByteBuffer.wrap(hex("04d2162f")).getInt());
        assertEquals(80877104, ByteBuffer.wrap(hex("04d21630")).getInt());
        assertEquals(80877102, ByteBuffer.wrap(hex("04d2162e")).getInt());
        assertEquals(80877103, StartupPacket.SSL_REQUEST_CODE);
        assertEquals(80877104, StartupPacket.GSSENC_REQUEST_CODE);
        assertEquals(80877102, StartupPacket.CANCEL_REQUEST_CODE);
    }

    // ---- what follows the startup packet ------------------------------------------------------

    @Test
    void bytesAfterStartupMessageFlowOnAsByteBufInOrder() {
        byte[] query = concat(hex("51 0000000d"), text("SELECT 1"), hex("00"));
        EmbeddedChannel channel = channel();
        ByteBuf in = alloc.wrap(concat(STARTUP, query));

        channel.writeInbound(in);

        assertStartup(channel.readInbound());
        ByteBuf rest = assertInstanceOf(ByteBuf.class, channel.readInbound());
        try {
            assertBytes(query, rest);
        } finally {
            rest.release();
        }
        assertNull(channel.readInbound());
        assertNull(channel.pipeline().get(StartupPacketDecoder.class));
        assertEquals(0, in.refCnt());

        ByteBuf later = alloc.wrap(query);
        channel.writeInbound(later);
        ByteBuf passed = channel.readInbound();
        assertSame(later, passed, "with the decoder gone, reads pass through untouched");
        passed.release();
        assertFalse(channel.finish());
    }

    @Test
    void bytesAfterCancelRequestFlowOnAsByteBuf() {
        EmbeddedChannel channel = channel();

        channel.writeInbound(alloc.wrap(concat(hex("00000010 04d2162e 000004d2 0000162e"), hex("58 00000004"))));

        assertEquals(new CancelRequest(1234, 5678), channel.readInbound());
        ByteBuf rest = assertInstanceOf(ByteBuf.class, channel.readInbound());
        try {
            assertBytes(hex("58 00000004"), rest);
        } finally {
            rest.release();
        }
        assertFalse(channel.finish());
    }

    // ---- lengths ----------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(ints = {4, 7, 0, 10005, -1, Integer.MIN_VALUE, Integer.MAX_VALUE})
    void badLengthIsAProtocolViolation(int length) {
        WireException e = expectViolation(concat(int32(length), hex("04d2162f")));

        assertTrue(e.getMessage().contains(Integer.toString(length)), e.getMessage());
    }

    @Test
    void badLengthIsSeenFromTheLengthWordAlone() {
        EmbeddedChannel channel = channel();

        channel.writeInbound(alloc.wrap(hex("0000")));
        DecoderException e = assertThrows(DecoderException.class, () -> channel.writeInbound(alloc.wrap(hex("2715"))));

        assertEquals("08P01", wireException(e).sqlState());
    }

    @Test
    void bodyOfTenThousandBytesIsAccepted() {
        byte[] head = startup(V3_0, "user", "alice", "options", "");
        // As in PostgreSQL, the limit counts the body: the length word comes on top.
        String padding = "x".repeat(StartupPacketDecoder.MAX_STARTUP_PACKET_LENGTH + 4 - head.length);
        byte[] packet = startup(V3_0, "user", "alice", "options", padding);
        assertEquals(10004, packet.length);
        EmbeddedChannel channel = channel();

        channel.writeInbound(alloc.wrap(packet));

        StartupMessage message = assertInstanceOf(StartupMessage.class, channel.readInbound());
        assertEquals(padding, message.parameters().get("options"));
        assertFalse(channel.finish());
    }

    // ---- layout -----------------------------------------------------------------------------

    @Test
    void missingTerminatorInsideLastValue() {
        // "user\0alice" with no zero at all after alice.
        byte[] body = concat(text("user"), hex("00"), text("alice"));
        expectViolation(concat(int32(8 + body.length), int32(V3_0), body));
    }

    @Test
    void missingTerminatorAfterLastValue() {
        // "user\0alice\0" without the zero byte that ends the list; PostgreSQL answers
        // "invalid startup packet layout: expected terminator as last byte".
        byte[] body = concat(text("user"), hex("00"), text("alice"), hex("00"));
        WireException e = expectViolation(concat(int32(8 + body.length), int32(V3_0), body));

        assertTrue(e.getMessage().contains("terminator"), e.getMessage());
    }

    @Test
    void missingTerminatorInAnEmptyStartupMessage() {
        // Length 8: the protocol version and nothing else, not even the terminator.
        expectViolation(hex("00000008 00030000"));
    }

    @Test
    void terminatorBeforeTheEndOfThePacket() {
        // "user\0alice\0\0junk\0\0": the list ends at the first empty name, five bytes early.
        byte[] body = concat(text("user"), hex("00"), text("alice"), hex("00 00"), text("junk"), hex("00 00"));
        expectViolation(concat(int32(8 + body.length), int32(V3_0), body));
    }

    @Test
    void parameterWithoutValue() {
        // "user\0alice\0database\0" then the terminator: the terminator is taken as database's value
        // and the list is left unterminated, which PostgreSQL reports the same way.
        WireException e = expectViolation(startup(V3_0, "user", "alice", "database"));

        assertTrue(e.getMessage().contains("expected terminator as last byte"), e.getMessage());
    }

    @Test
    void onlyParameterWithoutValue() {
        expectViolation(startup(V3_0, "user"));
    }

    // ---- protocol versions --------------------------------------------------------------------

    @Test
    void protocolVersion2IsDecodedForTheSessionToReject() {
        EmbeddedChannel channel = channel();

        channel.writeInbound(alloc.wrap(startup(0x0002_0000, "user", "alice")));

        StartupMessage message = assertInstanceOf(StartupMessage.class, channel.readInbound());
        assertEquals(2, message.majorVersion());
        assertEquals(0, message.minorVersion());
        assertNull(channel.pipeline().get(StartupPacketDecoder.class));
        assertFalse(channel.finish());
    }

    @Test
    void protocolVersion2InItsFixedLayoutIsDecodedForTheSessionToReject() {
        // A real 2.0 client sends a 296-byte packet of fixed, zero-padded fields (database[64],
        // user[32], options[64], unused[64], tty[64]), not name/value pairs. It must still reach
        // the session, which answers "unsupported frontend protocol 2.0" (0A000).
        byte[] packet = ByteBuffer.allocate(296)
                .putInt(296).putInt(0x0002_0000)
                .put(padded("postgres", 64)).put(padded("postgres", 32))
                .put(new byte[64]).put(new byte[64]).put(new byte[64])
                .array();
        EmbeddedChannel channel = channel();

        try {
            channel.writeInbound(alloc.wrap(packet));
        } catch (DecoderException e) {
            fail("a protocol 2.0 packet was rejected by the decoder: " + wireException(e).getMessage(), e);
        }

        StartupMessage message = assertInstanceOf(StartupMessage.class, channel.readInbound());
        assertEquals(2, message.majorVersion());
        assertFalse(channel.finish());
    }

    @Test
    void protocolVersion3Point2() {
        EmbeddedChannel channel = channel();

        channel.writeInbound(alloc.wrap(startup(0x0003_0002, "user", "alice", "_pq_.test", "on")));

        StartupMessage message = assertInstanceOf(StartupMessage.class, channel.readInbound());
        assertEquals(3, message.majorVersion());
        assertEquals(2, message.minorVersion());
        assertEquals("on", message.parameters().get("_pq_.test"));
        assertFalse(channel.finish());
    }

    // ---- helpers ----------------------------------------------------------------------------

    private static final byte[] SSL_REQUEST = hex("00000008 04d2162f");

    private EmbeddedChannel channel() {
        EmbeddedChannel channel = new EmbeddedChannel();
        channel.config().setAllocator(alloc);
        channel.pipeline().addLast(new StartupPacketDecoder());
        channels.add(channel);
        return channel;
    }

    private static void assertStartup(Object decoded) {
        StartupMessage message = assertInstanceOf(StartupMessage.class, decoded);
        assertEquals(V3_0, message.protocolVersion());
        assertEquals(3, message.majorVersion());
        assertEquals(0, message.minorVersion());
        assertEquals(List.of("user", "database", "options", "application_name"),
                List.copyOf(message.parameters().keySet()));
        assertEquals("alice", message.user());
        assertEquals("shop", message.database());
        assertEquals("-c search_path=app", message.parameters().get("options"));
        assertEquals("psql", message.parameters().get("application_name"));
    }

    /** Writes {@code packet} whole and expects a 08P01 WireException in the DecoderException's causes. */
    private WireException expectViolation(byte[] packet) {
        EmbeddedChannel channel = channel();
        ByteBuf in = alloc.wrap(packet);

        DecoderException e = assertThrows(DecoderException.class, () -> channel.writeInbound(in),
                () -> "decoded " + channel.inboundMessages() + " from\n" + WireBytes.dump(packet));

        WireException wire = wireException(e);
        assertEquals("08P01", wire.sqlState());
        assertNull(channel.readInbound(), "nothing decoded");
        return wire;
    }

    private static WireException wireException(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof WireException wire) {
                return wire;
            }
        }
        throw new AssertionError("no WireException in the cause chain", e);
    }

    /** A StartupMessage: length, version, the strings each null-terminated, the list terminator. */
    private static byte[] startup(int version, String... strings) {
        byte[] body = concat(cstrings(strings), hex("00"));
        return concat(int32(8 + body.length), int32(version), body);
    }

    private static byte[] cstrings(String... strings) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (String s : strings) {
            out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
            out.write(0);
        }
        return out.toByteArray();
    }

    private static byte[] padded(String s, int width) {
        byte[] field = new byte[width];
        byte[] bytes = s.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(bytes, 0, field, 0, bytes.length);
        return field;
    }

    private static byte[] hex(String digits) {
        return WireBytes.hex(digits);
    }

    private static byte[] text(String s) {
        return WireBytes.text(s);
    }

    private static byte[] int32(int v) {
        return ByteBuffer.allocate(4).putInt(v).array();
    }
}
