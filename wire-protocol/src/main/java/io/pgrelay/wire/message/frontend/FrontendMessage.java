package io.pgrelay.wire.message.frontend;

import io.netty.buffer.ByteBuf;
import io.pgrelay.wire.codec.Frames;

/**
 * The typed frontend messages pgrelay writes itself (to servers) or decodes (from clients during
 * authentication). Everything else a client sends is forwarded as an opaque frame.
 *
 * @see <a href="https://www.postgresql.org/docs/current/protocol-message-formats.html">Message formats</a>
 */
public sealed interface FrontendMessage {
    /** Writes the whole message: type byte, length, body. */
    void encode(ByteBuf out);

    /** Query ('Q'): a simple-protocol query string. */
    record Query(String sql) implements FrontendMessage {
        @Override
        public void encode(ByteBuf out) {
            int start = Frames.begin(out, 'Q');
            Frames.writeCString(out, sql);
            Frames.end(out, start);
        }
    }

    /** PasswordMessage ('p') with a cleartext or md5 password. */
    record PasswordMessage(String password) implements FrontendMessage {
        @Override
        public void encode(ByteBuf out) {
            int start = Frames.begin(out, 'p');
            Frames.writeCString(out, password);
            Frames.end(out, start);
        }

        @Override
        public String toString() {
            return "PasswordMessage[***]";
        }
    }

    /** SASLInitialResponse ('p'): the chosen mechanism and the client-first-message. */
    record SaslInitialResponse(String mechanism, byte[] data) implements FrontendMessage {
        @Override
        public void encode(ByteBuf out) {
            int start = Frames.begin(out, 'p');
            Frames.writeCString(out, mechanism);
            out.writeInt(data.length).writeBytes(data);
            Frames.end(out, start);
        }
    }

    /** SASLResponse ('p'): the client-final-message. */
    record SaslResponse(byte[] data) implements FrontendMessage {
        @Override
        public void encode(ByteBuf out) {
            int start = Frames.begin(out, 'p');
            out.writeBytes(data);
            Frames.end(out, start);
        }
    }

    /** Terminate ('X'). */
    enum Terminate implements FrontendMessage {
        INSTANCE;

        @Override
        public void encode(ByteBuf out) {
            out.writeByte('X').writeInt(4);
        }
    }
}
