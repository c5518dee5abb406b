package io.pgrelay.wire.message.frontend;

import io.netty.buffer.ByteBuf;
import io.pgrelay.wire.codec.Frames;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The untyped messages a client may send first: StartupMessage, SSLRequest, GSSENCRequest and
 * CancelRequest.
 *
 * @see <a href="https://www.postgresql.org/docs/current/protocol-message-formats.html">Message formats</a>
 */
public sealed interface StartupPacket {
    int PROTOCOL_3_0 = 196608;
    int SSL_REQUEST_CODE = 80877103;
    int GSSENC_REQUEST_CODE = 80877104;
    int CANCEL_REQUEST_CODE = 80877102;

    /** Writes the packet, length word included. */
    void encode(ByteBuf out);

    /** SSLRequest. */
    enum SslRequest implements StartupPacket {
        INSTANCE;

        @Override
        public void encode(ByteBuf out) {
            out.writeInt(8).writeInt(SSL_REQUEST_CODE);
        }
    }

    /** GSSENCRequest. */
    enum GssEncRequest implements StartupPacket {
        INSTANCE;

        @Override
        public void encode(ByteBuf out) {
            out.writeInt(8).writeInt(GSSENC_REQUEST_CODE);
        }
    }

    /** CancelRequest: the key a backend handed out in BackendKeyData. */
    record CancelRequest(int processId, int secretKey) implements StartupPacket {
        @Override
        public void encode(ByteBuf out) {
            out.writeInt(16).writeInt(CANCEL_REQUEST_CODE).writeInt(processId).writeInt(secretKey);
        }
    }

    /**
     * StartupMessage. {@code parameters} keeps the client's order; {@code user} is required,
     * {@code database} defaults to the user name.
     */
    record StartupMessage(int protocolVersion, Map<String, String> parameters) implements StartupPacket {
        public StartupMessage {
            parameters = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(parameters));
        }

        public int majorVersion() {
            return protocolVersion >>> 16;
        }

        public int minorVersion() {
            return protocolVersion & 0xFFFF;
        }

        public String user() {
            return parameters.get("user");
        }

        public String database() {
            String db = parameters.get("database");
            return db == null || db.isEmpty() ? user() : db;
        }

        @Override
        public void encode(ByteBuf out) {
            int lengthIndex = out.writerIndex();
            out.writeInt(0).writeInt(protocolVersion);
            for (Map.Entry<String, String> e : parameters.entrySet()) {
                Frames.writeCString(out, e.getKey());
                Frames.writeCString(out, e.getValue());
            }
            out.writeByte(0);
            out.setInt(lengthIndex, out.writerIndex() - lengthIndex);
        }
    }
}
