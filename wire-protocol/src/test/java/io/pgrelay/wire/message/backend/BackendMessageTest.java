package io.pgrelay.wire.message.backend;

import static io.pgrelay.wire.codec.WireBytes.assertBytes;
import static io.pgrelay.wire.codec.WireBytes.concat;
import static io.pgrelay.wire.codec.WireBytes.hex;
import static io.pgrelay.wire.codec.WireBytes.text;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.pgrelay.wire.codec.TrackingAllocator;
import io.pgrelay.wire.codec.WireBytes;
import io.pgrelay.wire.message.backend.BackendMessage.AuthenticationCleartextPassword;
import io.pgrelay.wire.message.backend.BackendMessage.AuthenticationMD5Password;
import io.pgrelay.wire.message.backend.BackendMessage.AuthenticationOk;
import io.pgrelay.wire.message.backend.BackendMessage.AuthenticationSASL;
import io.pgrelay.wire.message.backend.BackendMessage.AuthenticationSASLContinue;
import io.pgrelay.wire.message.backend.BackendMessage.AuthenticationSASLFinal;
import io.pgrelay.wire.message.backend.BackendMessage.AuthenticationUnsupported;
import io.pgrelay.wire.message.backend.BackendMessage.BackendKeyData;
import io.pgrelay.wire.message.backend.BackendMessage.Column;
import io.pgrelay.wire.message.backend.BackendMessage.CommandComplete;
import io.pgrelay.wire.message.backend.BackendMessage.DataRow;
import io.pgrelay.wire.message.backend.BackendMessage.EmptyQueryResponse;
import io.pgrelay.wire.message.backend.BackendMessage.ErrorField;
import io.pgrelay.wire.message.backend.BackendMessage.ErrorResponse;
import io.pgrelay.wire.message.backend.BackendMessage.Errors;
import io.pgrelay.wire.message.backend.BackendMessage.NegotiateProtocolVersion;
import io.pgrelay.wire.message.backend.BackendMessage.ParameterStatus;
import io.pgrelay.wire.message.backend.BackendMessage.ReadyForQuery;
import io.pgrelay.wire.message.backend.BackendMessage.RowDescription;
import io.pgrelay.wire.message.backend.BackendMessage.Unknown;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Golden bytes for {@link BackendMessage#encode}, written by hand from
 * <a href="https://www.postgresql.org/docs/current/protocol-message-formats.html">Message Formats</a>,
 * and decode(encode(x)) round trips.
 */
class BackendMessageTest {
    private final TrackingAllocator alloc = new TrackingAllocator();

    @AfterEach
    void everyBufferReleased() {
        alloc.assertAllReleasedThenFree();
    }

    // ---- golden bytes -------------------------------------------------------------------------

    @Test
    void authenticationOk() {
        assertEncodes(hex("52 00000008 00000000"), AuthenticationOk.INSTANCE);
    }

    @Test
    void authenticationCleartextPassword() {
        assertEncodes(hex("52 00000008 00000003"), AuthenticationCleartextPassword.INSTANCE);
    }

    @Test
    void authenticationMD5Password() {
        assertEncodes(hex("52 0000000c 00000005 0102fe7f"),
                new AuthenticationMD5Password(new byte[] {1, 2, (byte) 0xfe, 0x7f}));
    }

    @Test
    void authenticationSASL() {
        // Int32(10), then each mechanism as a String, then a zero byte: 4 + 4 + 14 + 1 = 23.
        assertEncodes(concat(hex("52 00000017 0000000a"), text("SCRAM-SHA-256"), hex("00 00")),
                new AuthenticationSASL(List.of("SCRAM-SHA-256")));
    }

    @Test
    void authenticationSASLWithTwoMechanisms() {
        // 4 + 4 + 19 + 14 + 1 = 42.
        assertEncodes(concat(hex("52 0000002a 0000000a"), text("SCRAM-SHA-256-PLUS"), hex("00"),
                        text("SCRAM-SHA-256"), hex("00 00")),
                new AuthenticationSASL(List.of("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256")));
    }

    @Test
    void authenticationSASLContinue() {
        // 4 + 4 + 23 bytes of server-first-message = 31.
        assertEncodes(concat(hex("52 0000001f 0000000b"), text("r=abc,s=c2FsdA==,i=4096")),
                new AuthenticationSASLContinue(text("r=abc,s=c2FsdA==,i=4096")));
    }

    @Test
    void authenticationSASLFinal() {
        assertEncodes(concat(hex("52 0000000d 0000000c"), text("v=abc")),
                new AuthenticationSASLFinal(text("v=abc")));
    }

    @Test
    void authenticationUnsupported() {
        assertEncodes(hex("52 00000008 00000007"), new AuthenticationUnsupported(7));
    }

    @Test
    void parameterStatus() {
        // 4 + 16 + 5 = 25.
        assertEncodes(concat(hex("53 00000019"), text("client_encoding"), hex("00"), text("UTF8"), hex("00")),
                new ParameterStatus("client_encoding", "UTF8"));
    }

    @Test
    void parameterStatusLengthCountsBytesNotChars() {
        // "Europe/Zürich" is 13 chars, 14 UTF-8 bytes: 4 + 9 + 15 = 28.
        assertEncodes(concat(hex("53 0000001c"), text("TimeZone"), hex("00"), hex("4575726f70652f5ac3bc72696368"), hex("00")),
                new ParameterStatus("TimeZone", "Europe/Zürich"));
    }

    @Test
    void backendKeyData() {
        assertEncodes(hex("4b 0000000c 000004d2 0000162e"), new BackendKeyData(1234, 5678));
    }

    @Test
    void readyForQuery() {
        assertEncodes(hex("5a 00000005 49"), ReadyForQuery.IDLE);
        assertEncodes(hex("5a 00000005 54"), new ReadyForQuery(TransactionStatus.IN_TRANSACTION));
        assertEncodes(hex("5a 00000005 45"), new ReadyForQuery(TransactionStatus.FAILED));
    }

    @Test
    void fatalErrorResponse() {
        // S, V, C, M fields each a code byte and a String, then a zero: 4 + 7 + 7 + 7 + 3 + 1 = 29.
        assertEncodes(concat(hex("45 0000001d"),
                        hex("53"), text("FATAL"), hex("00"),
                        hex("56"), text("FATAL"), hex("00"),
                        hex("43"), text("08P01"), hex("00"),
                        hex("4d"), text("x"), hex("00"),
                        hex("00")),
                Errors.fatal("08P01", "x"));
    }

    @Test
    void errorResponse() {
        // 4 + 7 + 7 + 7 + 6 + 1 = 32.
        assertEncodes(concat(hex("45 00000020"),
                        hex("53"), text("ERROR"), hex("00"),
                        hex("56"), text("ERROR"), hex("00"),
                        hex("43"), text("57014"), hex("00"),
                        hex("4d"), text("stop"), hex("00"),
                        hex("00")),
                Errors.error("57014", "stop"));
    }

    @Test
    void noticeResponse() {
        // 'N'; 4 + 8 + 8 + 7 + 4 + 1 = 32.
        assertEncodes(concat(hex("4e 00000020"),
                        hex("53"), text("NOTICE"), hex("00"),
                        hex("56"), text("NOTICE"), hex("00"),
                        hex("43"), text("00000"), hex("00"),
                        hex("4d"), text("hi"), hex("00"),
                        hex("00")),
                Errors.notice("hi"));
    }

    @Test
    void negotiateProtocolVersion() {
        // Int32 newest minor, Int32 count, the option names: 4 + 4 + 4 + 9 = 21.
        assertEncodes(concat(hex("76 00000015 00000000 00000001"), text("_pq_.foo"), hex("00")),
                new NegotiateProtocolVersion(0, List.of("_pq_.foo")));
    }

    @Test
    void negotiateProtocolVersionWithoutOptions() {
        assertEncodes(hex("76 0000000c 00000002 00000000"), new NegotiateProtocolVersion(2, List.of()));
    }

    @Test
    void rowDescriptionOfATextAndABigintColumn() {
        // Int16 count, then per column: name, Int32 table oid, Int16 attnum, Int32 type oid,
        // Int16 typlen, Int32 typmod, Int16 format. 4 + 2 + (9 + 18) + (10 + 18) = 61.
        assertEncodes(concat(hex("54 0000003d 0002"),
                        text("database"), hex("00 00000000 0000 00000019 ffff ffffffff 0000"),
                        text("cl_active"), hex("00 00000000 0000 00000014 0008 ffffffff 0000")),
                new RowDescription(List.of(Column.text("database"), Column.int8("cl_active"))));
    }

    @Test
    void rowDescriptionWithoutColumns() {
        assertEncodes(hex("54 00000006 0000"), new RowDescription(List.of()));
    }

    @Test
    void dataRowWithNullAndMultibyteValues() {
        // Int16 count, then Int32 length and bytes per value, -1 for NULL. "Zürich" is 7 UTF-8
        // bytes: 4 + 2 + (4 + 3) + 4 + (4 + 7) + (4 + 0) = 32.
        assertEncodes(concat(hex("44 00000020 0004"),
                        hex("00000003"), text("app"),
                        hex("ffffffff"),
                        hex("00000007"), hex("5ac3bc72696368"),
                        hex("00000000")),
                new DataRow(Arrays.asList("app", null, "Zürich", "")));
    }

    @Test
    void emptyQueryResponse() {
        assertEncodes(hex("49 00000004"), EmptyQueryResponse.INSTANCE);
    }

    @Test
    void commandComplete() {
        assertEncodes(concat(hex("43 00000009"), text("SHOW"), hex("00")), new CommandComplete("SHOW"));
    }

    @Test
    void messagesAppendToWhatIsAlreadyInTheBuffer() {
        ByteBuf out = alloc.buffer();
        try {
            out.writeBytes(hex("ffff"));
            AuthenticationOk.INSTANCE.encode(out);
            new ParameterStatus("a", "b").encode(out);
            ReadyForQuery.IDLE.encode(out);

            assertBytes(concat(hex("ffff"), hex("52 00000008 00000000"), hex("53 00000008 6100 6200"),
                    hex("5a 00000005 49")), out);
        } finally {
            out.release();
        }
    }

    @Test
    void unknownCannotBeEncoded() {
        ByteBuf out = alloc.buffer();
        try {
            assertThrows(UnsupportedOperationException.class, () -> new Unknown((byte) 'D').encode(out));
        } finally {
            out.release();
        }
    }

    // ---- decode -------------------------------------------------------------------------------

    @Test
    void decodesAPostgresAuthenticationFailure() {
        // What PostgreSQL 16 sends for a wrong password, fields S V C M F L R.
        byte[] body = concat(
                hex("53"), text("FATAL"), hex("00"),
                hex("56"), text("FATAL"), hex("00"),
                hex("43"), text("28P01"), hex("00"),
                hex("4d"), text("password authentication failed for user \"alice\""), hex("00"),
                hex("46"), text("auth.c"), hex("00"),
                hex("4c"), text("323"), hex("00"),
                hex("52"), text("auth_failed"), hex("00"),
                hex("00"));
        byte[] message = concat(hex("45"), int32(4 + body.length), body);

        ErrorResponse error = assertInstanceOf(ErrorResponse.class, decode(message));

        assertFalse(error.notice());
        assertEquals("28P01", error.sqlState());
        assertEquals("password authentication failed for user \"alice\"", error.message());
        assertEquals("FATAL", error.severity());
        assertTrue(error.isFatal());
        assertEquals("auth_failed", error.field('R'));
        assertEquals("323", error.field('L'));
        assertNull(error.field('H'));
        assertEquals(7, error.fields().size());
    }

    @Test
    void severityFallsBackToTheLocalizedFieldForOldServers() {
        byte[] body = concat(hex("53"), text("PANIC"), hex("00"), hex("43"), text("XX000"), hex("00"), hex("00"));
        ErrorResponse error = assertInstanceOf(ErrorResponse.class, decode(concat(hex("45"), int32(4 + body.length), body)));

        assertEquals("PANIC", error.severity());
        assertTrue(error.isFatal());
        assertFalse(Errors.error("42P01", "no such table").isFatal());
    }

    @Test
    void decodesAnUnknownType() {
        byte[] dataRow = hex("44 0000000b 0001 00000001 31");

        assertEquals(new Unknown((byte) 'D'), decode(dataRow));
    }

    @Test
    void decodesAnUnknownTransactionStatus() {
        ReadyForQuery ready = assertInstanceOf(ReadyForQuery.class, decode(hex("5a 00000005 58")));

        assertSame(TransactionStatus.UNKNOWN, ready.status());
    }

    @Test
    void roundTrips() {
        List<BackendMessage> messages = List.of(
                AuthenticationOk.INSTANCE,
                AuthenticationCleartextPassword.INSTANCE,
                new AuthenticationUnsupported(7),
                new AuthenticationUnsupported(9),
                new AuthenticationSASL(List.of("SCRAM-SHA-256")),
                new AuthenticationSASL(List.of("SCRAM-SHA-256-PLUS", "SCRAM-SHA-256")),
                new AuthenticationSASL(List.of()),
                new ParameterStatus("client_encoding", "UTF8"),
                new ParameterStatus("application_name", ""),
                new ParameterStatus("TimeZone", "Europe/Zürich"),
                new BackendKeyData(1234, 5678),
                new BackendKeyData(-1, Integer.MIN_VALUE),
                ReadyForQuery.IDLE,
                new ReadyForQuery(TransactionStatus.IN_TRANSACTION),
                new ReadyForQuery(TransactionStatus.FAILED),
                new ReadyForQuery(TransactionStatus.UNKNOWN),
                Errors.fatal("08P01", "x"),
                Errors.error("57014", "canceling statement due to user request"),
                Errors.notice("there is no transaction in progress"),
                new ErrorResponse(false, List.of(new ErrorField('S', "ERROR"), new ErrorField('M', ""))),
                new NegotiateProtocolVersion(0, List.of("_pq_.foo", "_pq_.bar")),
                new NegotiateProtocolVersion(2, List.of()));
        for (BackendMessage message : messages) {
            assertEquals(message, decode(encode(message)), () -> "round trip of " + message);
        }
    }

    @Test
    void roundTripsOfMessagesHoldingBytes() {
        byte[] salt = {1, 2, (byte) 0xfe, 0x7f};
        AuthenticationMD5Password md5 = assertInstanceOf(AuthenticationMD5Password.class,
                decode(encode(new AuthenticationMD5Password(salt))));
        assertArrayEquals(salt, md5.salt());

        byte[] first = text("r=abc,s=c2FsdA==,i=4096");
        AuthenticationSASLContinue cont = assertInstanceOf(AuthenticationSASLContinue.class,
                decode(encode(new AuthenticationSASLContinue(first))));
        assertArrayEquals(first, cont.data());

        byte[] last = text("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
        AuthenticationSASLFinal fin = assertInstanceOf(AuthenticationSASLFinal.class,
                decode(encode(new AuthenticationSASLFinal(last))));
        assertArrayEquals(last, fin.data());

        AuthenticationSASLContinue empty = assertInstanceOf(AuthenticationSASLContinue.class,
                decode(encode(new AuthenticationSASLContinue(new byte[0]))));
        assertEquals(0, empty.data().length);
    }

    // ---- helpers ------------------------------------------------------------------------------

    private void assertEncodes(byte[] expected, BackendMessage message) {
        assertBytes(expected, encode(message));
    }

    private byte[] encode(BackendMessage message) {
        ByteBuf out = alloc.buffer();
        try {
            message.encode(out);
            return WireBytes.readable(out);
        } finally {
            out.release();
        }
    }

    /**
     * Decodes {@code message} from the middle of a larger buffer, as the framer shows it, and
     * checks that decoding leaves the buffer's indexes alone.
     */
    private BackendMessage decode(byte[] message) {
        byte[] before = hex("5a 00000005");
        byte[] after = hex("49 44 ff");
        ByteBuf buf = alloc.wrap(concat(before, message, after));
        try {
            int reader = buf.readerIndex();
            int writer = buf.writerIndex();
            BackendMessage decoded = BackendMessage.decode(buf, before.length, message.length);
            assertEquals(reader, buf.readerIndex());
            assertEquals(writer, buf.writerIndex());
            return decoded;
        } finally {
            buf.release();
        }
    }

    private static byte[] int32(int v) {
        return java.nio.ByteBuffer.allocate(4).putInt(v).array();
    }
}
