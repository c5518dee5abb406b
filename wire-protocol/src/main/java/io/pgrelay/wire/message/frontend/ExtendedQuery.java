package io.pgrelay.wire.message.frontend;

import io.netty.buffer.ByteBuf;
import io.pgrelay.wire.SqlState;
import io.pgrelay.wire.WireException;
import io.pgrelay.wire.codec.Frames;

/**
 * Reads and rewrites the statement names in the extended-query messages Parse, Bind, Describe
 * and Close, straight on the frame bytes, for a pooler that maps a client's statement names to
 * its own names on whichever server runs them. Every {@code start} is the index of the type byte
 * of a whole message of {@code length} bytes.
 *
 * @see <a href="https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-EXT-QUERY">Extended Query</a>
 */
public final class ExtendedQuery {
    private static final int HEADER = 5;

    private ExtendedQuery() {
    }

    /** The statement name of a Parse; empty for the unnamed statement. */
    public static String parseName(ByteBuf buf, int start, int length) {
        return Frames.readCString(buf, start + HEADER, start + length);
    }

    /** Where the query text of a Parse starts. */
    public static int queryStart(ByteBuf buf, int start, int length) {
        return nameEnd(buf, start + HEADER, start + length) + 1;
    }

    /** Where the query text of a Parse ends (its terminating zero byte). */
    public static int queryEnd(ByteBuf buf, int start, int length) {
        return nameEnd(buf, queryStart(buf, start, length), start + length);
    }

    /** The bytes of a Parse after its name: query text, parameter count and types. */
    public static byte[] parseBody(ByteBuf buf, int start, int length) {
        int end = start + length;
        int bodyStart = nameEnd(buf, start + HEADER, end) + 1;
        byte[] body = new byte[end - bodyStart];
        buf.getBytes(bodyStart, body);
        return body;
    }

    /** Writes a Parse of {@code body} (as from {@link #parseBody}) under {@code name}. */
    public static void writeParse(ByteBuf out, String name, byte[] body) {
        int length = Frames.begin(out, 'P');
        Frames.writeCString(out, name);
        out.writeBytes(body);
        Frames.end(out, length);
    }

    /** The query text of a Parse body, as from {@link #parseBody}. */
    public static int queryLength(byte[] body) {
        for (int i = 0; i < body.length; i++) {
            if (body[i] == 0) {
                return i;
            }
        }
        return body.length;
    }

    /** The prepared statement name a Bind refers to; empty for the unnamed statement. */
    public static String bindStatementName(ByteBuf buf, int start, int length) {
        int end = start + length;
        int statementStart = nameEnd(buf, start + HEADER, end) + 1;
        return Frames.readCString(buf, statementStart, end);
    }

    /** Writes the Bind at {@code start} with its statement name replaced by {@code statement}. */
    public static void writeBindRenamed(ByteBuf out, ByteBuf bind, int start, int length, String statement) {
        int end = start + length;
        int portalEnd = nameEnd(bind, start + HEADER, end);
        int restStart = nameEnd(bind, portalEnd + 1, end) + 1;
        int lengthIndex = Frames.begin(out, 'B');
        out.writeBytes(bind, start + HEADER, portalEnd + 1 - (start + HEADER));
        Frames.writeCString(out, statement);
        out.writeBytes(bind, restStart, end - restStart);
        Frames.end(out, lengthIndex);
    }

    /** The 'S' (statement) or 'P' (portal) byte of a Describe or Close. */
    public static byte target(ByteBuf buf, int start) {
        return buf.getByte(start + HEADER);
    }

    /** The statement or portal name of a Describe or Close. */
    public static String targetName(ByteBuf buf, int start, int length) {
        return Frames.readCString(buf, start + HEADER + 1, start + length);
    }

    /** Writes a Describe ({@code type} 'D') or Close ('C') of the statement or portal {@code name}. */
    public static void writeTargeted(ByteBuf out, char type, byte target, String name) {
        int length = Frames.begin(out, type);
        out.writeByte(target);
        Frames.writeCString(out, name);
        Frames.end(out, length);
    }

    private static int nameEnd(ByteBuf buf, int from, int limit) {
        int zero = Frames.cStringEnd(buf, from, limit);
        if (zero < 0) {
            throw new WireException(SqlState.PROTOCOL_VIOLATION,
                    "string in message is not null-terminated");
        }
        return zero;
    }
}
