package io.pgrelay.it.badinput;

import io.pgrelay.wire.auth.Md5Password;
import io.pgrelay.wire.auth.ScramClientSession;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A PostgreSQL v3 protocol client on a plain {@link Socket}, for throwing hand-made and broken
 * bytes at pgrelay and reading exactly what comes back. Every read is bounded by the socket's
 * SO_TIMEOUT; nothing here retries or loops without a count or a deadline.
 *
 * @see <a href="https://www.postgresql.org/docs/15/protocol-message-formats.html">Message formats</a>
 */
final class RawPgClient implements AutoCloseable {
    static final int PROTOCOL_3_0 = version(3, 0);
    static final int SSL_REQUEST_CODE = version(1234, 5679);
    static final int GSSENC_REQUEST_CODE = version(1234, 5680);
    static final int CANCEL_REQUEST_CODE = version(1234, 5678);
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(5);
    /** Upper bound on what we accept from pgrelay, so a broken length cannot make us allocate wildly. */
    private static final int MAX_INCOMING = 64 << 20;
    /** Upper bound on messages read in one call, so every loop here ends. */
    private static final int MAX_MESSAGES = 100_000;

    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;

    private RawPgClient(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new DataInputStream(new BufferedInputStream(socket.getInputStream()));
        this.out = socket.getOutputStream();
    }

    /** Connects to 127.0.0.1:{@code port} with a 5 s connect timeout and SO_TIMEOUT. */
    static RawPgClient connect(int port) throws IOException {
        Socket s = new Socket();
        try {
            s.setTcpNoDelay(true);
            s.setSoTimeout((int) DEFAULT_TIMEOUT.toMillis());
            s.connect(new InetSocketAddress("127.0.0.1", port), (int) DEFAULT_TIMEOUT.toMillis());
            return new RawPgClient(s);
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    static int version(int major, int minor) {
        return (major << 16) | (minor & 0xFFFF);
    }

    // ---------------------------------------------------------------- building packets

    /** A StartupMessage-shaped packet: int32 length, int32 version/code, name/value cstrings, 0. */
    static byte[] startupPacket(int version, Map<String, String> params) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        writeInt(body, version);
        params.forEach((k, v) -> {
            writeCString(body, k);
            writeCString(body, v);
        });
        body.write(0);
        byte[] b = body.toByteArray();
        ByteBuffer p = ByteBuffer.allocate(4 + b.length);
        p.putInt(4 + b.length).put(b);
        return p.array();
    }

    static byte[] startupMessage(String user, String database) {
        Map<String, String> params = new LinkedHashMap<>();
        params.put("user", user);
        params.put("database", database);
        return startupPacket(PROTOCOL_3_0, params);
    }

    static byte[] sslRequest() {
        return ByteBuffer.allocate(8).putInt(8).putInt(SSL_REQUEST_CODE).array();
    }

    static byte[] gssEncRequest() {
        return ByteBuffer.allocate(8).putInt(8).putInt(GSSENC_REQUEST_CODE).array();
    }

    static byte[] cancelRequest(int processId, int secretKey) {
        return ByteBuffer.allocate(16).putInt(16).putInt(CANCEL_REQUEST_CODE).putInt(processId).putInt(secretKey).array();
    }

    /** A typed message: type byte, int32 length (including itself), body. */
    static byte[] message(char type, byte[] body) {
        return ByteBuffer.allocate(5 + body.length).put((byte) type).putInt(4 + body.length).put(body).array();
    }

    /** Only a message header, with whatever length field the caller likes. */
    static byte[] header(char type, int lengthField) {
        return ByteBuffer.allocate(5).put((byte) type).putInt(lengthField).array();
    }

    static byte[] query(String sql) {
        return message('Q', cstring(sql));
    }

    static byte[] terminate() {
        return message('X', new byte[0]);
    }

    /** SASLInitialResponse: mechanism cstring, int32 data length, data. */
    static byte[] saslInitialResponse(String mechanism, byte[] data) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        writeCString(body, mechanism);
        writeInt(body, data == null ? -1 : data.length);
        if (data != null) {
            body.writeBytes(data);
        }
        return message('p', body.toByteArray());
    }

    static byte[] saslResponse(byte[] data) {
        return message('p', data);
    }

    static byte[] cstring(String s) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        writeCString(b, s);
        return b.toByteArray();
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            b.writeBytes(p);
        }
        return b.toByteArray();
    }

    private static void writeCString(ByteArrayOutputStream out, String s) {
        out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
        out.write(0);
    }

    private static void writeInt(ByteArrayOutputStream out, int v) {
        out.writeBytes(ByteBuffer.allocate(4).putInt(v).array());
    }

    // ---------------------------------------------------------------- sending and reading

    void sendRaw(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
    }

    void sendQuery(String sql) throws IOException {
        sendRaw(query(sql));
    }

    /** One byte (the answer to SSLRequest / GSSENCRequest), or -1 at end of stream. */
    int readByte() throws IOException {
        return in.read();
    }

    /** The next whole message, or null when pgrelay closed the connection at a message boundary. */
    Message readMessage() throws IOException {
        int type = in.read();
        if (type < 0) {
            return null;
        }
        int length = in.readInt();
        if (length < 4 || length > MAX_INCOMING) {
            throw new IOException("pgrelay sent message type '" + (char) type + "' with length " + length);
        }
        byte[] body = new byte[length - 4];
        in.readFully(body);
        return new Message((char) type, body);
    }

    /** Reads a message and fails unless it has the given type. */
    Message expect(char type) throws IOException {
        Message m = readMessage();
        if (m == null) {
            throw new EOFException("pgrelay closed the connection; expected message '" + type + "'");
        }
        if (m.type() != type) {
            throw new AssertionError("expected message '" + type + "', got " + m);
        }
        return m;
    }

    /** Reads an Authentication message with the given code, skipping a NegotiateProtocolVersion. */
    Message expectAuthentication(int code) throws IOException {
        Message m = readMessage();
        for (int i = 0; m != null && m.type() == 'v' && i < 4; i++) {
            m = readMessage();
        }
        if (m == null) {
            throw new EOFException("pgrelay closed the connection; expected Authentication " + code);
        }
        if (m.type() != 'R' || m.authCode() != code) {
            throw new AssertionError("expected Authentication " + code + ", got " + m);
        }
        return m;
    }

    /**
     * StartupMessage for {@code user}/{@code database}, then the password exchange pgrelay asks for
     * (SCRAM-SHA-256 or MD5), up to and including ReadyForQuery.
     *
     * @return the messages after AuthenticationOk (ParameterStatus..., BackendKeyData, ReadyForQuery)
     */
    List<Message> login(String user, String database, String password) throws IOException {
        sendRaw(startupMessage(user, database));
        return completeLogin(user, password);
    }

    /** The password exchange after a StartupMessage was sent. */
    List<Message> completeLogin(String user, String password) throws IOException {
        Message request = readMessage();
        for (int i = 0; request != null && request.type() == 'v' && i < 4; i++) {
            request = readMessage();
        }
        if (request == null || request.type() != 'R') {
            throw new AssertionError("expected an authentication request, got " + request);
        }
        switch (request.authCode()) {
            case 10 -> scram(request, password);
            case 5 -> sendRaw(message('p', cstring(Md5Password.response(Md5Password.hash(user, password),
                    Arrays.copyOfRange(request.body(), 4, 8)))));
            case 0 -> {
                return readUntilReadyForQuery();
            }
            default -> throw new AssertionError("unsupported authentication request " + request);
        }
        Message ok = readMessage();
        if (ok == null || ok.type() != 'R' || ok.authCode() != 0) {
            throw new AssertionError("expected AuthenticationOk, got " + ok);
        }
        List<Message> rest = readUntilReadyForQuery();
        Optional<ErrorInfo> error = rest.stream().filter(m -> m.type() == 'E').map(Message::error).findFirst();
        if (error.isPresent()) {
            throw new AssertionError("login failed after AuthenticationOk: " + error.get());
        }
        return rest;
    }

    private void scram(Message saslRequest, String password) throws IOException {
        List<String> mechanisms = saslRequest.mechanisms();
        if (!mechanisms.contains("SCRAM-SHA-256")) {
            throw new AssertionError("pgrelay offers no SCRAM-SHA-256: " + mechanisms);
        }
        ScramClientSession scram = ScramClientSession.withPassword(password, new SecureRandom());
        sendRaw(saslInitialResponse("SCRAM-SHA-256", scram.clientFirstMessage()));
        Message cont = expectAuthentication(11);
        sendRaw(saslResponse(scram.handleServerFirst(cont.authData())));
        Message fin = readMessage();
        if (fin == null || fin.type() != 'R' || fin.authCode() != 12) {
            throw new AssertionError("expected AuthenticationSASLFinal, got " + fin);
        }
        scram.handleServerFinal(fin.authData());
    }

    /** Messages up to and including ReadyForQuery; an EOF before it is an {@link EOFException}. */
    List<Message> readUntilReadyForQuery() throws IOException {
        List<Message> got = new ArrayList<>();
        for (int i = 0; i < MAX_MESSAGES; i++) {
            Message m = readMessage();
            if (m == null) {
                throw new EOFException("pgrelay closed the connection before ReadyForQuery; got " + got);
            }
            got.add(m);
            if (m.type() == 'Z') {
                return got;
            }
        }
        throw new AssertionError("no ReadyForQuery within " + MAX_MESSAGES + " messages");
    }

    /** Runs a simple query and returns the first column of the first row, failing on an error. */
    String queryValue(String sql) throws IOException {
        sendQuery(sql);
        List<Message> got = readUntilReadyForQuery();
        for (Message m : got) {
            if (m.type() == 'E') {
                throw new AssertionError("query failed: " + m.error());
            }
        }
        return got.stream().filter(m -> m.type() == 'D').findFirst().map(Message::firstColumn)
                .orElseThrow(() -> new AssertionError("no DataRow in " + got));
    }

    /**
     * Reads whatever pgrelay sends until it closes the connection or {@code bound} passes. A reset
     * counts as closed.
     */
    Outcome readUntilClosed(Duration bound) throws IOException {
        long start = System.nanoTime();
        long deadline = start + bound.toNanos();
        List<Message> got = new ArrayList<>();
        int oldTimeout = socket.getSoTimeout();
        try {
            for (int i = 0; i < MAX_MESSAGES; i++) {
                long remainingMs = (deadline - System.nanoTime()) / 1_000_000;
                if (remainingMs <= 0) {
                    return new Outcome(got, false, false, elapsedSince(start));
                }
                socket.setSoTimeout((int) Math.max(1, remainingMs));
                Message m;
                try {
                    m = readMessage();
                } catch (SocketTimeoutException e) {
                    return new Outcome(got, false, false, elapsedSince(start));
                } catch (EOFException e) {
                    return new Outcome(got, true, false, elapsedSince(start));
                } catch (SocketException e) {
                    return new Outcome(got, true, true, elapsedSince(start));
                }
                if (m == null) {
                    return new Outcome(got, true, false, elapsedSince(start));
                }
                got.add(m);
            }
            return new Outcome(got, false, false, elapsedSince(start));
        } finally {
            if (!socket.isClosed()) {
                socket.setSoTimeout(oldTimeout);
            }
        }
    }

    private static Duration elapsedSince(long startNanos) {
        return Duration.ofNanos(System.nanoTime() - startNanos);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    /** Closes with an RST instead of a FIN, as a crashed client would. */
    void abort() throws IOException {
        socket.setSoLinger(true, 0);
        socket.close();
    }

    // ---------------------------------------------------------------- what comes back

    /** One backend message. */
    record Message(char type, byte[] body) {
        /** The Authentication request code ('R' only). */
        int authCode() {
            return ByteBuffer.wrap(body).getInt();
        }

        /** The bytes after the Authentication code ('R' only). */
        byte[] authData() {
            return Arrays.copyOfRange(body, 4, body.length);
        }

        /** The mechanisms of an AuthenticationSASL. */
        List<String> mechanisms() {
            List<String> names = new ArrayList<>();
            int idx = 4;
            while (idx < body.length && body[idx] != 0 && names.size() < 16) {
                int zero = indexOfZero(body, idx);
                names.add(new String(body, idx, zero - idx, StandardCharsets.UTF_8));
                idx = zero + 1;
            }
            return names;
        }

        /** The fields of an ErrorResponse / NoticeResponse. */
        ErrorInfo error() {
            Map<Character, String> fields = new LinkedHashMap<>();
            int idx = 0;
            while (idx < body.length && body[idx] != 0) {
                char code = (char) body[idx];
                int zero = indexOfZero(body, idx + 1);
                fields.put(code, new String(body, idx + 1, zero - idx - 1, StandardCharsets.UTF_8));
                idx = zero + 1;
            }
            return new ErrorInfo(fields);
        }

        /** The first column of a DataRow as text (null for SQL NULL). */
        String firstColumn() {
            ByteBuffer b = ByteBuffer.wrap(body);
            b.getShort();
            int len = b.getInt();
            return len < 0 ? null : new String(body, 6, len, StandardCharsets.UTF_8);
        }

        private static int indexOfZero(byte[] b, int from) {
            for (int i = from; i < b.length; i++) {
                if (b[i] == 0) {
                    return i;
                }
            }
            return b.length;
        }

        @Override
        public String toString() {
            return switch (type) {
                case 'E', 'N' -> type + error().toString();
                case 'R' -> "R(" + (body.length >= 4 ? authCode() : "?") + ")";
                default -> type + "(" + body.length + " bytes)";
            };
        }
    }

    /** ErrorResponse fields by code: 'S' severity, 'C' SQLSTATE, 'M' message. */
    record ErrorInfo(Map<Character, String> fields) {
        String sqlState() {
            return fields.get('C');
        }

        String message() {
            return fields.getOrDefault('M', "");
        }

        String severity() {
            return fields.get('S');
        }

        @Override
        public String toString() {
            return "{" + severity() + " " + sqlState() + " \"" + message() + "\"}";
        }
    }

    /** What {@link #readUntilClosed} saw. */
    record Outcome(List<Message> messages, boolean closed, boolean reset, Duration elapsed) {
        Optional<ErrorInfo> error() {
            return messages.stream().filter(m -> m.type() == 'E').map(Message::error).findFirst();
        }

        @Override
        public String toString() {
            return (closed ? (reset ? "reset" : "closed") : "still open") + " after " + elapsed.toMillis() + "ms, got "
                    + messages;
        }
    }
}
