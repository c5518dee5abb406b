package io.pgrelay.wire.message.backend;

import io.netty.buffer.ByteBuf;
import io.pgrelay.wire.codec.Frames;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * The backend messages pgrelay reads (from servers during startup) or writes (to clients). Rows,
 * command tags and the rest of a server's output are forwarded as opaque frames and never
 * become objects; pgrelay encodes rows only for result sets of its own (the admin console).
 *
 * @see <a href="https://www.postgresql.org/docs/current/protocol-message-formats.html">Message formats</a>
 */
public sealed interface BackendMessage {
    /** Writes the whole message: type byte, length, body. */
    void encode(ByteBuf out);

    /** AuthenticationOk. */
    enum AuthenticationOk implements BackendMessage {
        INSTANCE;

        @Override
        public void encode(ByteBuf out) {
            out.writeByte('R').writeInt(8).writeInt(0);
        }
    }

    /** AuthenticationCleartextPassword. */
    enum AuthenticationCleartextPassword implements BackendMessage {
        INSTANCE;

        @Override
        public void encode(ByteBuf out) {
            out.writeByte('R').writeInt(8).writeInt(3);
        }
    }

    /** AuthenticationMD5Password with its four-byte salt. */
    record AuthenticationMD5Password(byte[] salt) implements BackendMessage {
        @Override
        public void encode(ByteBuf out) {
            out.writeByte('R').writeInt(12).writeInt(5).writeBytes(salt, 0, 4);
        }
    }

    /** AuthenticationSASL: the mechanisms the server offers. */
    record AuthenticationSASL(List<String> mechanisms) implements BackendMessage {
        public AuthenticationSASL {
            mechanisms = List.copyOf(mechanisms);
        }

        @Override
        public void encode(ByteBuf out) {
            int start = Frames.begin(out, 'R');
            out.writeInt(10);
            for (String m : mechanisms) {
                Frames.writeCString(out, m);
            }
            out.writeByte(0);
            Frames.end(out, start);
        }
    }

    /** AuthenticationSASLContinue: the server-first-message. */
    record AuthenticationSASLContinue(byte[] data) implements BackendMessage {
        @Override
        public void encode(ByteBuf out) {
            out.writeByte('R').writeInt(8 + data.length).writeInt(11).writeBytes(data);
        }
    }

    /** AuthenticationSASLFinal: the server-final-message. */
    record AuthenticationSASLFinal(byte[] data) implements BackendMessage {
        @Override
        public void encode(ByteBuf out) {
            out.writeByte('R').writeInt(8 + data.length).writeInt(12).writeBytes(data);
        }
    }

    /** An Authentication request pgrelay does not implement (Kerberos, GSS, SSPI). */
    record AuthenticationUnsupported(int code) implements BackendMessage {
        @Override
        public void encode(ByteBuf out) {
            out.writeByte('R').writeInt(8).writeInt(code);
        }
    }

    /** ParameterStatus: a run-time parameter the client should know. */
    record ParameterStatus(String name, String value) implements BackendMessage {
        @Override
        public void encode(ByteBuf out) {
            int start = Frames.begin(out, 'S');
            Frames.writeCString(out, name);
            Frames.writeCString(out, value);
            Frames.end(out, start);
        }
    }

    /** BackendKeyData: the key a client uses to cancel its query. */
    record BackendKeyData(int processId, int secretKey) implements BackendMessage {
        @Override
        public void encode(ByteBuf out) {
            out.writeByte('K').writeInt(12).writeInt(processId).writeInt(secretKey);
        }
    }

    /** ReadyForQuery. */
    record ReadyForQuery(TransactionStatus status) implements BackendMessage {
        public static final ReadyForQuery IDLE = new ReadyForQuery(TransactionStatus.IDLE);

        @Override
        public void encode(ByteBuf out) {
            out.writeByte('Z').writeInt(5).writeByte(status.code());
        }
    }

    /** ParseComplete. */
    enum ParseComplete implements BackendMessage {
        INSTANCE;

        @Override
        public void encode(ByteBuf out) {
            out.writeByte('1').writeInt(4);
        }
    }

    /** BindComplete. */
    enum BindComplete implements BackendMessage {
        INSTANCE;

        @Override
        public void encode(ByteBuf out) {
            out.writeByte('2').writeInt(4);
        }
    }

    /** NoData: the described portal or statement returns no rows. */
    enum NoData implements BackendMessage {
        INSTANCE;

        @Override
        public void encode(ByteBuf out) {
            out.writeByte('n').writeInt(4);
        }
    }

    /** CloseComplete. */
    enum CloseComplete implements BackendMessage {
        INSTANCE;

        @Override
        public void encode(ByteBuf out) {
            out.writeByte('3').writeInt(4);
        }
    }

    /** EmptyQueryResponse: the answer to a query string with no statement in it. */
    enum EmptyQueryResponse implements BackendMessage {
        INSTANCE;

        @Override
        public void encode(ByteBuf out) {
            out.writeByte('I').writeInt(4);
        }
    }

    /** CommandComplete with its command tag, e.g. {@code DEALLOCATE}. */
    record CommandComplete(String tag) implements BackendMessage {
        @Override
        public void encode(ByteBuf out) {
            int length = Frames.begin(out, 'C');
            Frames.writeCString(out, tag);
            Frames.end(out, length);
        }
    }

    /**
     * RowDescription: the columns of the rows that follow, all in text format. pgrelay writes it
     * only for its own result sets (the admin console); servers' row descriptions are forwarded.
     */
    record RowDescription(List<Column> columns) implements BackendMessage {
        public RowDescription {
            columns = List.copyOf(columns);
        }

        @Override
        public void encode(ByteBuf out) {
            int start = Frames.begin(out, 'T');
            out.writeShort(columns.size());
            for (Column c : columns) {
                Frames.writeCString(out, c.name());
                // No table and column of origin; text format.
                out.writeInt(0).writeShort(0).writeInt(c.typeOid()).writeShort(c.typeSize()).writeInt(-1).writeShort(0);
            }
            Frames.end(out, start);
        }
    }

    /**
     * One column of a {@link RowDescription}.
     *
     * @param typeOid  the PostgreSQL type, e.g. {@link #TEXT} or {@link #INT8}
     * @param typeSize the type's pg_type.typlen: -1 for variable length
     */
    record Column(String name, int typeOid, int typeSize) {
        public static final int TEXT = 25;
        public static final int INT8 = 20;

        public static Column text(String name) {
            return new Column(name, TEXT, -1);
        }

        public static Column int8(String name) {
            return new Column(name, INT8, 8);
        }
    }

    /** DataRow of text values; a null value is SQL NULL. */
    record DataRow(List<String> values) implements BackendMessage {
        public DataRow {
            // List.copyOf refuses nulls, which are NULL columns here.
            values = Collections.unmodifiableList(new ArrayList<>(values));
        }

        @Override
        public void encode(ByteBuf out) {
            int start = Frames.begin(out, 'D');
            out.writeShort(values.size());
            for (String v : values) {
                if (v == null) {
                    out.writeInt(-1);
                } else {
                    int lengthIndex = out.writerIndex();
                    out.writeInt(0);
                    int written = out.writeCharSequence(v, StandardCharsets.UTF_8);
                    out.setInt(lengthIndex, written);
                }
            }
            Frames.end(out, start);
        }
    }

    /** NegotiateProtocolVersion: the newest minor version supported and the options not recognized. */
    record NegotiateProtocolVersion(int newestMinorVersion, List<String> unrecognizedOptions) implements BackendMessage {
        public NegotiateProtocolVersion {
            unrecognizedOptions = List.copyOf(unrecognizedOptions);
        }

        @Override
        public void encode(ByteBuf out) {
            int start = Frames.begin(out, 'v');
            out.writeInt(newestMinorVersion).writeInt(unrecognizedOptions.size());
            for (String option : unrecognizedOptions) {
                Frames.writeCString(out, option);
            }
            Frames.end(out, start);
        }
    }

    /** ErrorResponse ('E') or NoticeResponse ('N'). */
    record ErrorResponse(boolean notice, List<ErrorField> fields) implements BackendMessage {
        public ErrorResponse {
            fields = List.copyOf(fields);
        }

        /** The value of one field, e.g. {@code 'C'} for the SQLSTATE, or null. */
        public String field(char code) {
            for (ErrorField f : fields) {
                if (f.code() == code) {
                    return f.value();
                }
            }
            return null;
        }

        public String sqlState() {
            return field('C');
        }

        public String message() {
            return field('M');
        }

        /** The non-localized severity (field V, or S from servers before 9.6). */
        public String severity() {
            String v = field('V');
            return v != null ? v : field('S');
        }

        public boolean isFatal() {
            String s = severity();
            return "FATAL".equals(s) || "PANIC".equals(s);
        }

        @Override
        public void encode(ByteBuf out) {
            int start = Frames.begin(out, notice ? 'N' : 'E');
            for (ErrorField f : fields) {
                out.writeByte(f.code());
                Frames.writeCString(out, f.value());
            }
            out.writeByte(0);
            Frames.end(out, start);
        }
    }

    /** One field of an ErrorResponse or NoticeResponse. */
    record ErrorField(char code, String value) {
    }

    /** A message whose type pgrelay does not decode; only its type byte is kept. */
    record Unknown(byte type) implements BackendMessage {
        @Override
        public void encode(ByteBuf out) {
            throw new UnsupportedOperationException("an undecoded message cannot be re-encoded");
        }
    }

    /**
     * Decodes one whole message (type byte at {@code start}) of the kinds above; other types
     * become {@link Unknown}.
     */
    static BackendMessage decode(ByteBuf buf, int start, int length) {
        byte type = buf.getByte(start);
        int body = start + 5;
        int end = start + length;
        return switch (type) {
            case 'R' -> decodeAuthentication(buf, body, end);
            case 'S' -> {
                int nameEnd = Frames.cStringEnd(buf, body, end);
                String name = Frames.readCString(buf, body, end);
                yield new ParameterStatus(name, Frames.readCString(buf, nameEnd + 1, end));
            }
            case 'K' -> new BackendKeyData(buf.getInt(body), buf.getInt(body + 4));
            case 'Z' -> new ReadyForQuery(TransactionStatus.of(buf.getByte(body)));
            case 'E', 'N' -> new ErrorResponse(type == 'N', decodeFields(buf, body, end));
            case 'v' -> {
                int minor = buf.getInt(body);
                int count = buf.getInt(body + 4);
                List<String> options = new ArrayList<>();
                int idx = body + 8;
                for (int i = 0; i < count && idx < end; i++) {
                    int zero = Frames.cStringEnd(buf, idx, end);
                    options.add(Frames.readCString(buf, idx, end));
                    idx = zero + 1;
                }
                yield new NegotiateProtocolVersion(minor, options);
            }
            default -> new Unknown(type);
        };
    }

    private static BackendMessage decodeAuthentication(ByteBuf buf, int body, int end) {
        int code = buf.getInt(body);
        int data = body + 4;
        return switch (code) {
            case 0 -> AuthenticationOk.INSTANCE;
            case 3 -> AuthenticationCleartextPassword.INSTANCE;
            case 5 -> {
                byte[] salt = new byte[4];
                buf.getBytes(data, salt);
                yield new AuthenticationMD5Password(salt);
            }
            case 10 -> {
                List<String> mechanisms = new ArrayList<>();
                int idx = data;
                while (idx < end && buf.getByte(idx) != 0) {
                    int zero = Frames.cStringEnd(buf, idx, end);
                    mechanisms.add(Frames.readCString(buf, idx, end));
                    idx = zero + 1;
                }
                yield new AuthenticationSASL(mechanisms);
            }
            case 11 -> new AuthenticationSASLContinue(bytes(buf, data, end));
            case 12 -> new AuthenticationSASLFinal(bytes(buf, data, end));
            default -> new AuthenticationUnsupported(code);
        };
    }

    private static List<ErrorField> decodeFields(ByteBuf buf, int idx, int end) {
        List<ErrorField> fields = new ArrayList<>();
        while (idx < end && buf.getByte(idx) != 0) {
            char code = (char) buf.getByte(idx);
            int zero = Frames.cStringEnd(buf, idx + 1, end);
            fields.add(new ErrorField(code, Frames.readCString(buf, idx + 1, end)));
            idx = zero + 1;
        }
        return fields;
    }

    private static byte[] bytes(ByteBuf buf, int from, int to) {
        byte[] out = new byte[to - from];
        buf.getBytes(from, out);
        return out;
    }

    /** Builds the ErrorResponses pgrelay itself sends. */
    final class Errors {
        private Errors() {
        }

        public static ErrorResponse fatal(String sqlState, String message) {
            return of(false, "FATAL", sqlState, message);
        }

        public static ErrorResponse error(String sqlState, String message) {
            return of(false, "ERROR", sqlState, message);
        }

        public static ErrorResponse notice(String message) {
            return of(true, "NOTICE", "00000", message);
        }

        private static ErrorResponse of(boolean notice, String severity, String sqlState, String message) {
            return new ErrorResponse(notice, Arrays.asList(
                    new ErrorField('S', severity),
                    new ErrorField('V', severity),
                    new ErrorField('C', sqlState),
                    new ErrorField('M', message)));
        }
    }
}
