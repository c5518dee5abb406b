package io.pgrelay.wire.message.frontend;

import static io.pgrelay.wire.codec.WireBytes.assertBytes;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.pgrelay.wire.codec.Frames;
import io.pgrelay.wire.codec.WireBytes;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ExtendedQueryTest {
    /** Parse "S_1", "SELECT $1", one int4 parameter. */
    private static ByteBuf parse(String name) {
        ByteBuf b = Unpooled.buffer();
        int len = Frames.begin(b, 'P');
        Frames.writeCString(b, name);
        Frames.writeCString(b, "SELECT $1");
        b.writeShort(1).writeInt(23);
        Frames.end(b, len);
        return b;
    }

    @Test
    void parseIsReadAndWrittenUnderAnotherName() {
        ByteBuf p = parse("S_1");
        try {
            assertEquals("S_1", ExtendedQuery.parseName(p, 0, p.readableBytes()));
            byte[] body = ExtendedQuery.parseBody(p, 0, p.readableBytes());
            assertEquals("SELECT $1", new String(body, 0, ExtendedQuery.queryLength(body), StandardCharsets.UTF_8));
            int from = ExtendedQuery.queryStart(p, 0, p.readableBytes());
            assertEquals("SELECT $1", p.toString(from, ExtendedQuery.queryEnd(p, 0, p.readableBytes()) - from,
                    StandardCharsets.UTF_8));
            ByteBuf out = Unpooled.buffer();
            ExtendedQuery.writeParse(out, "pgrelay_7", body);
            ByteBuf expected = parse("pgrelay_7");
            assertBytes(WireBytes.readable(expected), out);
            out.release();
            expected.release();
        } finally {
            p.release();
        }
    }

    @Test
    void bindKeepsPortalAndParametersWhenRenamed() {
        ByteBuf bind = Unpooled.buffer();
        int len = Frames.begin(bind, 'B');
        Frames.writeCString(bind, "portal");
        Frames.writeCString(bind, "S_1");
        bind.writeShort(0).writeShort(1).writeInt(2).writeBytes(new byte[] {'4', '2'}).writeShort(0);
        Frames.end(bind, len);
        ByteBuf out = Unpooled.buffer();
        try {
            assertEquals("S_1", ExtendedQuery.bindStatementName(bind, 0, bind.readableBytes()));
            ExtendedQuery.writeBindRenamed(out, bind, 0, bind.readableBytes(), "pgrelay_12");
            assertEquals("pgrelay_12", ExtendedQuery.bindStatementName(out, 0, out.readableBytes()));
            assertEquals(out.readableBytes() - 1, out.getInt(1), "length word");
            assertEquals(bind.readableBytes() + "pgrelay_12".length() - "S_1".length(), out.readableBytes());
            assertEquals(bind.getByte(bind.readableBytes() - 3), out.getByte(out.readableBytes() - 3), "parameters kept");
        } finally {
            bind.release();
            out.release();
        }
    }

    @Test
    void describeAndCloseTargets() {
        ByteBuf out = Unpooled.buffer();
        try {
            ExtendedQuery.writeTargeted(out, 'C', (byte) 'S', "pgrelay_3");
            assertEquals('C', out.getByte(0));
            assertEquals('S', ExtendedQuery.target(out, 0));
            assertEquals("pgrelay_3", ExtendedQuery.targetName(out, 0, out.readableBytes()));
        } finally {
            out.release();
        }
    }
}
