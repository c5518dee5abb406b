package io.pgrelay.wire.message.frontend;

import static io.pgrelay.wire.codec.WireBytes.assertBytes;
import static io.pgrelay.wire.codec.WireBytes.concat;
import static io.pgrelay.wire.codec.WireBytes.hex;
import static io.pgrelay.wire.codec.WireBytes.text;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.pgrelay.wire.codec.StartupPacketDecoder;
import io.pgrelay.wire.codec.TrackingAllocator;
import io.pgrelay.wire.codec.WireBytes;
import io.pgrelay.wire.message.frontend.FrontendMessage.PasswordMessage;
import io.pgrelay.wire.message.frontend.FrontendMessage.Query;
import io.pgrelay.wire.message.frontend.FrontendMessage.SaslInitialResponse;
import io.pgrelay.wire.message.frontend.FrontendMessage.SaslResponse;
import io.pgrelay.wire.message.frontend.FrontendMessage.Terminate;
import io.pgrelay.wire.message.frontend.StartupPacket.CancelRequest;
import io.pgrelay.wire.message.frontend.StartupPacket.GssEncRequest;
import io.pgrelay.wire.message.frontend.StartupPacket.SslRequest;
import io.pgrelay.wire.message.frontend.StartupPacket.StartupMessage;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Golden bytes for {@link FrontendMessage} and {@link StartupPacket} encoders, written by hand from
 * <a href="https://www.postgresql.org/docs/current/protocol-message-formats.html">Message Formats</a>,
 * and round trips of the startup packets through {@link StartupPacketDecoder}.
 */
class FrontendMessageTest {
    private final TrackingAllocator alloc = new TrackingAllocator();

    @AfterEach
    void everyBufferReleased() {
        alloc.assertAllReleasedThenFree();
    }

    // ---- typed messages -----------------------------------------------------------------------

    @Test
    void query() {
        // 4 + 8 + 1 = 13.
        assertEncodes(concat(hex("51 0000000d"), text("SELECT 1"), hex("00")), new Query("SELECT 1"));
    }

    @Test
    void queryLengthCountsBytesNotChars() {
        // "SELECT 'é'" is 10 chars, 11 UTF-8 bytes: 4 + 11 + 1 = 16.
        assertEncodes(concat(hex("51 00000010"), hex("53454c45435420 27 c3a9 27"), hex("00")), new Query("SELECT 'é'"));
    }

    @Test
    void emptyQuery() {
        assertEncodes(hex("51 00000005 00"), new Query(""));
    }

    @Test
    void passwordMessage() {
        // 4 + 6 + 1 = 11.
        assertEncodes(concat(hex("70 0000000b"), text("secret"), hex("00")), new PasswordMessage("secret"));
    }

    @Test
    void passwordMessageDoesNotPrintThePassword() {
        assertFalse(new PasswordMessage("secret").toString().contains("secret"));
    }

    @Test
    void saslInitialResponse() {
        // Mechanism String, Int32 length of the response, the response: 4 + 14 + 4 + 11 = 33.
        assertEncodes(concat(hex("70 00000021"), text("SCRAM-SHA-256"), hex("00"), hex("0000000b"), text("n,,n=,r=abc")),
                new SaslInitialResponse("SCRAM-SHA-256", text("n,,n=,r=abc")));
    }

    @Test
    void saslResponse() {
        // 4 + 18 = 22.
        assertEncodes(concat(hex("70 00000016"), text("c=biws,r=abc,p=xyz")), new SaslResponse(text("c=biws,r=abc,p=xyz")));
    }

    @Test
    void terminate() {
        assertEncodes(hex("58 00000004"), Terminate.INSTANCE);
    }

    @Test
    void messagesAppendToWhatIsAlreadyInTheBuffer() {
        ByteBuf out = alloc.buffer();
        try {
            out.writeBytes(hex("ffff"));
            new Query("x").encode(out);
            Terminate.INSTANCE.encode(out);

            assertBytes(hex("ffff 51 00000006 7800 58 00000004"), out);
        } finally {
            out.release();
        }
    }

    // ---- startup packets ----------------------------------------------------------------------

    private static final StartupMessage STARTUP = new StartupMessage(StartupPacket.PROTOCOL_3_0,
            ordered("user", "alice", "database", "shop"));

    @Test
    void startupMessage() {
        // Int32 length, Int32 196608, name/value Strings, a zero: 4 + 4 + 5 + 6 + 9 + 5 + 1 = 34.
        assertEncodes(concat(hex("00000022 00030000"),
                        text("user"), hex("00"), text("alice"), hex("00"),
                        text("database"), hex("00"), text("shop"), hex("00"),
                        hex("00")),
                STARTUP);
    }

    @Test
    void cancelRequest() {
        // Int32 16, Int32 80877102, process ID, secret key.
        assertEncodes(hex("00000010 04d2162e 000004d2 0000162e"), new CancelRequest(1234, 5678));
    }

    @Test
    void sslRequest() {
        assertEncodes(hex("00000008 04d2162f"), SslRequest.INSTANCE);
    }

    @Test
    void gssEncRequest() {
        assertEncodes(hex("00000008 04d21630"), GssEncRequest.INSTANCE);
    }

    @Test
    void startupMessageAccessors() {
        assertEquals(3, STARTUP.majorVersion());
        assertEquals(0, STARTUP.minorVersion());
        assertEquals("alice", STARTUP.user());
        assertEquals("shop", STARTUP.database());
        assertEquals("alice", new StartupMessage(StartupPacket.PROTOCOL_3_0, ordered("user", "alice", "database", ""))
                .database());
    }

    @Test
    void startupPacketsRoundTripThroughTheDecoder() {
        List<StartupPacket> packets = List.of(
                SslRequest.INSTANCE,
                GssEncRequest.INSTANCE,
                new StartupMessage(StartupPacket.PROTOCOL_3_0,
                        ordered("user", "alice", "database", "shop", "options", "-c geqo=off", "application_name", "")),
                new StartupMessage(0x0003_0002, ordered("user", "Jürgen", "_pq_.x", "1")),
                new CancelRequest(1234, 5678),
                new CancelRequest(-1, Integer.MIN_VALUE));
        for (StartupPacket packet : packets) {
            EmbeddedChannel channel = new EmbeddedChannel();
            channel.config().setAllocator(alloc);
            channel.pipeline().addLast(new StartupPacketDecoder());
            ByteBuf in = alloc.buffer();
            packet.encode(in);

            channel.writeInbound(in);

            Object decoded = channel.readInbound();
            if (packet instanceof StartupMessage sent) {
                StartupMessage received = assertInstanceOf(StartupMessage.class, decoded);
                assertEquals(sent, received);
                assertEquals(List.copyOf(sent.parameters().keySet()), List.copyOf(received.parameters().keySet()),
                        "parameter order");
            } else if (packet instanceof CancelRequest) {
                assertEquals(packet, decoded);
            } else {
                assertSame(packet, decoded);
            }
            assertEquals(0, in.refCnt());
            assertFalse(channel.finish(), () -> "left over after " + packet);
        }
    }

    // ---- helpers ------------------------------------------------------------------------------

    private void assertEncodes(byte[] expected, FrontendMessage message) {
        ByteBuf out = alloc.buffer();
        try {
            message.encode(out);
            assertBytes(expected, out);
        } finally {
            out.release();
        }
    }

    private void assertEncodes(byte[] expected, StartupPacket packet) {
        ByteBuf out = alloc.buffer();
        try {
            packet.encode(out);
            assertBytes(expected, WireBytes.readable(out));
        } finally {
            out.release();
        }
    }

    private static Map<String, String> ordered(String... pairs) {
        Map<String, String> map = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            map.put(pairs[i], pairs[i + 1]);
        }
        return map;
    }
}
