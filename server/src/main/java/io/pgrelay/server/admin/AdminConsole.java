package io.pgrelay.server.admin;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import io.pgrelay.server.cancel.CancelRegistry;
import io.pgrelay.server.session.ClientHandler;
import io.pgrelay.server.session.ClientState;
import io.pgrelay.server.session.SessionServices;
import io.pgrelay.wire.SqlState;
import io.pgrelay.wire.WireException;
import io.pgrelay.wire.codec.Frames;
import io.pgrelay.wire.codec.MessageFramer;
import io.pgrelay.wire.message.backend.BackendMessage;
import io.pgrelay.wire.message.backend.BackendMessage.Errors;
import io.pgrelay.wire.message.backend.BackendMessage.ParameterStatus;
import io.pgrelay.wire.message.backend.BackendMessage.ReadyForQuery;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client logged in to the virtual database {@code pgrelay}: the admin console. It has no server
 * connection; pgrelay answers its simple queries ({@code SHOW POOLS}, {@code PAUSE}, ...) itself
 * with ordinary result sets, so psql and any driver can read them. Runs on the client's event loop.
 *
 * @see <a href="https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-SIMPLE-QUERY">Simple Query</a>
 */
public final class AdminConsole extends ClientHandler implements MessageFramer.Sink, CancelRegistry.Cancellable {
    /** The database name that selects the console. */
    public static final String DATABASE = "pgrelay";
    /** What the console reports as server_version: drivers parse the leading number. */
    static final String SERVER_VERSION = "15.0 (pgrelay)";
    private static final Logger log = LoggerFactory.getLogger(AdminConsole.class);
    /** Messages of the extended query protocol and FunctionCall, refused with 0A000. */
    private static final String UNSUPPORTED = "PBDECHF";
    /** CopyData, CopyDone, CopyFail: ignored outside a COPY, as PostgreSQL does. */
    private static final String IGNORED = "dcf";

    private final MessageFramer framer;
    private final AdminCommands commands;
    /** Client messages not yet answered, in order: query texts, {@link Sync}, {@link Terminate}, {@link Unsupported}. */
    private final ArrayDeque<Object> inbox = new ArrayDeque<>();
    private CancelRegistry.Key cancelKey;
    private boolean busy;
    private boolean skippingUntilSync;
    private Future<?> running;

    private AdminConsole(SessionServices services, ClientHandler login, MessageFramer framer) {
        super(services, login.channel(), ClientState.ACTIVE);
        this.framer = framer;
        this.commands = new AdminCommands(services, login.channel().eventLoop());
    }

    /**
     * Replaces {@code login} in its pipeline once the client has authenticated for
     * {@link #DATABASE}; takes ownership of {@code framer} and of the whole messages in
     * {@code early} (sent right behind the password).
     */
    public static void takeOver(SessionServices services, ClientHandler login, MessageFramer framer,
                                ArrayDeque<ByteBuf> early) {
        AdminConsole console = new AdminConsole(services, login, framer);
        services.clients().remove(login);
        services.clients().add(console);
        login.channel().pipeline().replace(login, "admin", console);
        console.start(early);
    }

    private void start(ArrayDeque<ByteBuf> early) {
        String user = identity().user();
        List<String> admins = services.config() == null ? List.of() : services.config().adminUsers();
        if (!admins.contains(user)) {
            early.forEach(ByteBuf::release);
            early.clear();
            log.info("refused user \"{}\" from {} on the admin console", user, channel.remoteAddress());
            fatal(SqlState.INVALID_AUTHORIZATION_SPECIFICATION, admins.isEmpty()
                    ? "the pgrelay admin console is disabled: no user is listed in admin.users"
                    : "user \"" + user + "\" may not use the pgrelay admin console: it is not listed in admin.users");
            return;
        }
        log.info("admin console session for user \"{}\" from {}", user, channel.remoteAddress());
        cancelKey = services.cancels().register(this);
        write(new ParameterStatus("server_version", SERVER_VERSION));
        write(new ParameterStatus("client_encoding", "UTF8"));
        write(new ParameterStatus("DateStyle", "ISO"));
        write(new ParameterStatus("standard_conforming_strings", "on"));
        write(new ParameterStatus("integer_datetimes", "on"));
        write(new BackendMessage.BackendKeyData(cancelKey.processId(), cancelKey.secretKey()));
        write(ReadyForQuery.IDLE);
        // Whole messages that arrived before this handler did: they come before anything the framer holds.
        while (!early.isEmpty()) {
            ByteBuf m = early.poll();
            try {
                onMessage(m.getByte(m.readerIndex()), m, m.readerIndex(), m.readableBytes());
            } finally {
                m.release();
            }
        }
        pump();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ByteBuf bytes)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (state != ClientState.ACTIVE) {
            bytes.release();
            return;
        }
        try {
            framer.feed(bytes, this);
        } catch (WireException e) {
            fatal(e.sqlState(), e.getMessage());
            return;
        }
        pump();
    }

    @Override
    public boolean onMessage(byte type, ByteBuf buf, int start, int length) {
        if (type == 'Q') {
            inbox.add(Frames.readCString(buf, start + 5, start + length));
        } else if (type == 'S') {
            inbox.add(Sync.INSTANCE);
        } else if (type == 'X') {
            inbox.add(Terminate.INSTANCE);
        } else if (UNSUPPORTED.indexOf(type) >= 0) {
            inbox.add(new Unsupported(type));
        } else if (IGNORED.indexOf(type) < 0) {
            throw new WireException(SqlState.PROTOCOL_VIOLATION, "invalid frontend message type " + (char) type);
        }
        return false;
    }

    @Override
    public void forward(ByteBuf bytes) {
        // Every message is inspected, so nothing is passed on.
        bytes.release();
    }

    /** A Sync of the extended query protocol. */
    private enum Sync { INSTANCE }

    /** A Terminate: the client is leaving. */
    private enum Terminate { INSTANCE }

    /** An extended-protocol message or FunctionCall. */
    private record Unsupported(byte type) {
    }

    /** Answers what is queued, in order, until a command has to wait for other event loops. */
    private void pump() {
        while (!busy && state == ClientState.ACTIVE && !inbox.isEmpty()) {
            Object next = inbox.poll();
            switch (next) {
                case String sql -> {
                    if (!skippingUntilSync) {
                        runQuery(sql);
                    }
                }
                case Sync s -> {
                    skippingUntilSync = false;
                    write(ReadyForQuery.IDLE);
                }
                case Terminate t -> {
                    state = ClientState.CLOSED;
                    channel.close();
                }
                case Unsupported u -> {
                    if (!skippingUntilSync) {
                        write(Errors.error(SqlState.FEATURE_NOT_SUPPORTED,
                                "the pgrelay admin console accepts only simple queries"));
                        // A FunctionCall expects its own ReadyForQuery; a batch waits for Sync.
                        if (u.type() == 'F') {
                            write(ReadyForQuery.IDLE);
                        } else {
                            skippingUntilSync = true;
                        }
                    }
                }
                default -> throw new IllegalStateException("unexpected inbox entry " + next);
            }
        }
        if (channel.isActive()) {
            channel.flush();
            // Read no further while a command waits, so the inbox stays small.
            channel.config().setAutoRead(!busy);
        }
    }

    /** Runs the statements of one Query in order; the first error ends it, as in PostgreSQL. */
    private void runQuery(String sql) {
        List<String> statements = AdminCommands.split(sql);
        if (statements.isEmpty()) {
            write(BackendMessage.EmptyQueryResponse.INSTANCE);
            write(ReadyForQuery.IDLE);
            return;
        }
        busy = true;
        runStatement(new ArrayList<>(statements), 0);
    }

    private void runStatement(List<String> statements, int index) {
        if (index == statements.size() || state != ClientState.ACTIVE) {
            finishQuery();
            return;
        }
        Future<Reply> reply = commands.execute(statements.get(index));
        running = reply;
        reply.addListener(f -> {
            running = null;
            Reply r = f.isSuccess() ? reply.getNow() : failed(f.cause());
            if (state != ClientState.ACTIVE) {
                return;
            }
            r.messages().forEach(this::write);
            channel.flush();
            if (r.failed()) {
                finishQuery();
            } else {
                runStatement(statements, index + 1);
            }
            if (r.afterReply() != null) {
                channel.eventLoop().execute(r.afterReply());
            }
        });
    }

    private Reply failed(Throwable cause) {
        if (cause instanceof CancellationException) {
            return Reply.error(SqlState.QUERY_CANCELED, "canceling statement due to user request");
        }
        log.error("admin console command failed", cause);
        return Reply.error(SqlState.INTERNAL_ERROR, "pgrelay internal error: " + cause);
    }

    private void finishQuery() {
        write(ReadyForQuery.IDLE);
        busy = false;
        pump();
    }

    @Override
    public void cancelRunningQuery() {
        channel.eventLoop().execute(() -> {
            if (running != null) {
                running.cancel(false);
            }
        });
    }

    @Override
    public void drain() {
        // The console holds no transaction: it ends at once.
        kill("terminating connection due to administrator command");
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        state = ClientState.CLOSED;
        services.clients().remove(this);
        if (cancelKey != null) {
            services.cancels().unregister(cancelKey);
        }
        if (running != null) {
            running.cancel(false);
        }
        framer.release();
        inbox.clear();
        ctx.fireChannelInactive();
    }
}
