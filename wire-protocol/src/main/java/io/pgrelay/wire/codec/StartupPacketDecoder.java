package io.pgrelay.wire.codec;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.pgrelay.wire.SqlState;
import io.pgrelay.wire.WireException;
import io.pgrelay.wire.message.frontend.StartupPacket;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Decodes the untyped packets a client sends before its typed messages: SSLRequest,
 * GSSENCRequest, CancelRequest and StartupMessage. After a StartupMessage or CancelRequest it
 * removes itself, and any bytes already received flow on as plain {@link ByteBuf}s.
 *
 * @see <a href="https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-START-UP">Start-up</a>
 */
public final class StartupPacketDecoder extends ByteToMessageDecoder {
    /** PostgreSQL's own limit on a startup packet body, the length word excluded (MAX_STARTUP_PACKET_LENGTH). */
    public static final int MAX_STARTUP_PACKET_LENGTH = 10000;

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (in.readableBytes() < 4) {
            return;
        }
        int length = in.getInt(in.readerIndex());
        if (length < 8 || length - 4 > MAX_STARTUP_PACKET_LENGTH) {
            throw new WireException(SqlState.PROTOCOL_VIOLATION, "invalid length of startup packet: " + length);
        }
        if (in.readableBytes() < length) {
            return;
        }
        int start = in.readerIndex();
        int code = in.getInt(start + 4);
        StartupPacket packet = switch (code) {
            case StartupPacket.SSL_REQUEST_CODE -> StartupPacket.SslRequest.INSTANCE;
            case StartupPacket.GSSENC_REQUEST_CODE -> StartupPacket.GssEncRequest.INSTANCE;
            case StartupPacket.CANCEL_REQUEST_CODE -> {
                if (length != 16) {
                    throw new WireException(SqlState.PROTOCOL_VIOLATION, "invalid length of cancel request packet: " + length);
                }
                yield new StartupPacket.CancelRequest(in.getInt(start + 8), in.getInt(start + 12));
            }
            // Only a v3 body is name/value pairs; other versions are decoded for the session to refuse.
            default -> new StartupPacket.StartupMessage(code,
                    code >>> 16 == 3 ? parameters(in, start + 8, start + length) : Map.of());
        };
        in.skipBytes(length);
        out.add(packet);
        if (packet instanceof StartupPacket.StartupMessage || packet instanceof StartupPacket.CancelRequest) {
            ctx.pipeline().remove(this);
        }
    }

    /** Name/value pairs, each null-terminated, then one zero byte that must be the packet's last. */
    private static Map<String, String> parameters(ByteBuf in, int from, int end) {
        Map<String, String> params = new LinkedHashMap<>();
        int idx = from;
        while (idx < end && in.getByte(idx) != 0) {
            int nameEnd = Frames.cStringEnd(in, idx, end);
            if (nameEnd < 0) {
                throw layoutError();
            }
            String name = Frames.readCString(in, idx, end);
            int valueStart = nameEnd + 1;
            int valueEnd = valueStart < end ? Frames.cStringEnd(in, valueStart, end) : -1;
            if (valueEnd < 0) {
                throw new WireException(SqlState.PROTOCOL_VIOLATION,
                        "invalid startup packet layout: parameter \"" + name + "\" has no value");
            }
            params.put(name, Frames.readCString(in, valueStart, end));
            idx = valueEnd + 1;
        }
        if (idx != end - 1) {
            throw layoutError();
        }
        return params;
    }

    private static WireException layoutError() {
        return new WireException(SqlState.PROTOCOL_VIOLATION, "invalid startup packet layout: expected terminator as last byte");
    }
}
