package io.pgrelay.server.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.embedded.EmbeddedChannel;
import io.pgrelay.conf.ConfigLoader;
import io.pgrelay.conf.PgRelayConfig;
import io.pgrelay.failover.Topology;
import io.pgrelay.failover.TopologyHolder;
import io.pgrelay.pool.PoolSettings;
import io.pgrelay.pool.Pools;
import io.pgrelay.pool.ServerConnector;
import io.pgrelay.router.Router;
import io.pgrelay.server.auth.ClientAuth;
import io.pgrelay.server.cancel.CancelRegistry;
import io.pgrelay.server.session.ClientHandler;
import io.pgrelay.server.session.ClientState;
import io.pgrelay.server.session.SessionServices;
import io.pgrelay.wire.codec.MessageFramer;
import io.pgrelay.wire.message.backend.BackendMessage;
import io.pgrelay.wire.message.backend.BackendMessage.ErrorResponse;
import io.pgrelay.wire.message.backend.BackendMessage.ParameterStatus;
import io.pgrelay.wire.message.frontend.FrontendMessage;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The console's protocol on an {@link EmbeddedChannel}: what each client message gets back, message by message. */
class AdminConsoleTest {
    private final PgRelayConfig config = ConfigLoader.load(Optional.empty(), Map.of(),
            Map.of("primary", "127.0.0.1:5432", "admin.users", "alice"));
    private final SessionServices services = TestServices.of(config);
    private EmbeddedChannel channel;

    @AfterEach
    void nothingLeftBehind() {
        if (channel != null) {
            channel.finishAndReleaseAll();
        }
    }

    @Test
    void greetsWithItsOwnParametersKeyAndReadyForQuery() {
        List<Message> greeting = open("alice");

        assertEquals("SSSSSKZ", types(greeting));
        assertEquals(new ParameterStatus("server_version", "15.0 (pgrelay)"), greeting.get(0).decoded());
        assertEquals(new ParameterStatus("client_encoding", "UTF8"), greeting.get(1).decoded());
        assertTrue(services.clients().stream().anyMatch(c -> c instanceof AdminConsole), "the console replaced the login");
    }

    @Test
    void refusesAUserNotListedInAdminUsers() {
        List<Message> out = open("bob");

        assertEquals("E", types(out));
        ErrorResponse e = (ErrorResponse) out.get(0).decoded();
        assertEquals("28000", e.sqlState());
        assertEquals("FATAL", e.severity());
        assertEquals("user \"bob\" may not use the pgrelay admin console: it is not listed in admin.users", e.message());
        assertFalse(channel.isOpen());
    }

    @Test
    void showVersionIsAResultSet() {
        open("alice");

        List<Message> out = query("show version;");

        assertEquals("TDCZ", types(out));
        assertTrue(out.get(1).text().contains("pgrelay 0."), out.get(1).text());
        assertEquals("SHOW", out.get(2).text());
    }

    @Test
    void statementsRunInOrderAndTheFirstErrorEndsTheQuery() {
        open("alice");

        List<Message> out = query("SHOW VERSION; SHOW NOTHING; SHOW VERSION");

        assertEquals("TDCEZ", types(out));
        ErrorResponse e = (ErrorResponse) out.get(3).decoded();
        assertEquals("42601", e.sqlState());
        assertTrue(e.message().startsWith("unknown pgrelay admin console command \"SHOW NOTHING\"; the console knows SHOW POOLS"),
                e.message());
    }

    @Test
    void extendedQueryMessagesGetOneErrorThenReadyForQueryAtSync() {
        open("alice");
        ByteBuf in = Unpooled.buffer();
        in.writeByte('P').writeInt(4 + 1 + 12 + 2).writeByte(0).writeBytes("SHOW POOLS\0".getBytes(StandardCharsets.UTF_8))
                .writeByte(0).writeShort(0);
        in.writeByte('B').writeInt(4 + 1 + 1 + 2 + 2 + 2).writeByte(0).writeByte(0).writeShort(0).writeShort(0).writeShort(0);
        in.writeByte('E').writeInt(4 + 1 + 4).writeByte(0).writeInt(0);
        in.writeByte('S').writeInt(4);

        List<Message> out = send(in);

        assertEquals("EZ", types(out));
        assertEquals("0A000", ((ErrorResponse) out.get(0).decoded()).sqlState());
        assertEquals("TDCZ", types(query("SHOW VERSION")), "simple queries still work");
    }

    @Test
    void anEmptyQueryGetsEmptyQueryResponse() {
        open("alice");

        assertEquals("IZ", types(query(" ; ")));
    }

    @Test
    void setIsAcceptedForClientSessionParametersOnly() {
        open("alice");

        List<Message> accepted = query("SET application_name = 'PostgreSQL JDBC Driver'");
        List<Message> refused = query("set pool_size to 5");

        assertEquals("CZ", types(accepted));
        assertEquals("SET", accepted.get(0).text());
        assertEquals("EZ", types(refused));
        assertEquals("0A000", ((ErrorResponse) refused.get(0).decoded()).sqlState());
    }

    @Test
    void showPoolsWithNothingPooledHasColumnsAndNoRows() {
        open("alice");

        List<Message> out = query("SHOW POOLS");

        assertEquals("TCZ", types(out));
        assertTrue(out.get(0).text().contains("cl_waiting"), out.get(0).text());
    }

    @Test
    void pauseAndResumeADatabase() {
        open("alice");

        assertEquals("CZ", types(query("PAUSE shop")));
        assertTrue(services.pools().paused("shop"));
        assertFalse(services.pools().paused("crm"));
        assertEquals("EZ", types(query("PAUSE pgrelay")), "the console's own database cannot be paused");
        assertEquals("CZ", types(query("RESUME shop")));
        assertFalse(services.pools().paused("shop"));
    }

    @Test
    void terminateClosesTheConsole() {
        open("alice");
        ByteBuf in = Unpooled.buffer().writeByte('X').writeInt(4);

        assertEquals("", types(send(in)));
        assertFalse(channel.isOpen());
        assertTrue(services.clients().isEmpty());
    }

    // ---- helpers

    /** A client that has authenticated as {@code user} for database pgrelay; returns what it got. */
    private List<Message> open(String user) {
        LoggedIn login = new LoggedIn(services, user);
        channel = new EmbeddedChannel(login);
        services.clients().add(login);
        AdminConsole.takeOver(services, login, MessageFramer.inspectingAll(1 << 20), new ArrayDeque<>());
        return received();
    }

    private List<Message> query(String sql) {
        ByteBuf in = Unpooled.buffer();
        new FrontendMessage.Query(sql).encode(in);
        return send(in);
    }

    private List<Message> send(ByteBuf in) {
        channel.writeInbound(in);
        channel.runPendingTasks();
        channel.runPendingTasks();
        return received();
    }

    /** Everything written to the client so far, split into messages. */
    private List<Message> received() {
        List<Message> out = new ArrayList<>();
        for (ByteBuf b; (b = channel.readOutbound()) != null; ) {
            try {
                while (b.isReadable()) {
                    int length = b.getInt(b.readerIndex() + 1) + 1;
                    byte[] bytes = new byte[length];
                    b.readBytes(bytes);
                    out.add(new Message(bytes));
                }
            } finally {
                b.release();
            }
        }
        return out;
    }

    private static String types(List<Message> messages) {
        StringBuilder s = new StringBuilder();
        messages.forEach(m -> s.append((char) m.bytes()[0]));
        return s.toString();
    }

    /** One message as sent: type byte, length, body. */
    private record Message(byte[] bytes) {
        BackendMessage decoded() {
            ByteBuf buf = Unpooled.wrappedBuffer(bytes);
            return BackendMessage.decode(buf, 0, bytes.length);
        }

        /** The body as text, zero bytes shown as '|': enough to find a tag or a value. */
        String text() {
            return new String(bytes, 5, bytes.length - 5, StandardCharsets.UTF_8).replace('\0', '|')
                    .replaceAll("\\|+$", "");
        }
    }

    /** Stands in for ClientLogin at the point where it hands over: authenticated, identity known. */
    private static final class LoggedIn extends ClientHandler {
        private final String user;

        LoggedIn(SessionServices services, String user) {
            super(services, null, ClientState.WAITING_FOR_SERVER);
            this.user = user;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            channel = ctx.channel();
            identify(user, AdminConsole.DATABASE);
        }

        @Override
        public void drain() {
        }
    }

}
