package io.pgrelay.server.session;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.pgrelay.failover.Node;
import io.pgrelay.router.FailoverTopologyView;
import io.pgrelay.router.RouteTarget;
import io.pgrelay.router.Router;
import io.pgrelay.router.RoutingException;
import io.pgrelay.router.classify.ClassifiedQuery;
import io.pgrelay.router.policy.ClientRoutingState;
import io.pgrelay.router.policy.RouteReason;
import io.pgrelay.router.policy.StatementRoute;
import io.pgrelay.router.sql.Hints;
import io.pgrelay.router.sql.SqlAnalysis;
import io.pgrelay.router.sql.StatementInfo;
import io.pgrelay.router.sql.StatementKind;
import io.pgrelay.router.stats.NodeCounters;
import io.pgrelay.wire.message.backend.BackendMessage;
import io.pgrelay.wire.message.backend.TransactionStatus;
import io.pgrelay.wire.message.frontend.ExtendedQuery;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Decides where a transaction-pooling client's next work runs, from the client messages held
 * while no server is attached (ARCHITECTURE.md, "Routing semantics"). Before routing it:
 * <ul>
 * <li>waits for the rest of a request whose bytes arrive in several reads (up to its Sync or the
 *     end of its Query), holding at most {@code max_message_size} bytes, so that a split request is
 *     routed like a whole one;</li>
 * <li>answers a lone {@code BEGIN} / {@code START TRANSACTION} (and a {@code SET TRANSACTION} with
 *     access or isolation modes right after it) itself and keeps the text: the transaction's node
 *     is chosen by its first real statement, and the kept text is sent there first
 *     ({@link #pollPreamble()});</li>
 * <li>answers {@code SHOW pgrelay.last_write_lsn} itself.</li>
 * </ul>
 * Confined to the client's event loop.
 */
final class RequestRouter {
    /** The parameter pgrelay answers itself: the WAL position the client's last write is known at. */
    static final String LAST_WRITE_LSN = "pgrelay.last_write_lsn";
    /** A SHOW pgrelay.last_write_lsn right after a commit waits this long at most for a primary sample. */
    private static final long LSN_WAIT_NANOS = 1_000_000_000L;
    /** routing.on_no_replica: error refuses a read no replica can take (cannot_connect_now). */
    private static final String NO_REPLICA = "57P03";
    private static final BackendMessage.RowDescription LSN_COLUMNS =
            new BackendMessage.RowDescription(List.of(BackendMessage.Column.text(LAST_WRITE_LSN)));

    /** What {@link #next} did with the held messages. */
    enum Outcome {
        /** Route them to {@link #pool()}. */
        ROUTED,
        /** pgrelay answered all of them; nothing to lease. */
        ANSWERED,
        /** A request is not whole yet: read more bytes first. */
        WAIT_FOR_BYTES,
        /** The answer waits for the replication monitor's next sample: try again shortly. */
        RETRY_LATER
    }

    private final Router router;
    private final ClientRoutingState routing;
    private final SessionSettings settings;
    private final Map<String, ClientStatement> statements;
    private final int maxHeldBytes;
    private final Consumer<BackendMessage> reply;
    /** BEGIN / SET TRANSACTION Query messages answered by pgrelay, to run first on the chosen node. */
    private final ArrayDeque<ByteBuf> preamble = new ArrayDeque<>();
    private Node node;
    private RouteReason reason;
    private boolean replica;
    private long lsnWaitSince;

    RequestRouter(Router router, ClientRoutingState routing, SessionSettings settings,
                  Map<String, ClientStatement> statements, int maxHeldBytes, Consumer<BackendMessage> reply) {
        this.router = router;
        this.routing = routing;
        this.settings = settings;
        this.statements = statements;
        this.maxHeldBytes = maxHeldBytes;
        this.reply = reply;
    }

    /** The node chosen by the last {@link Outcome#ROUTED}. */
    Node node() {
        return node;
    }

    /** Why that node was chosen; null before the first routing. */
    RouteReason reason() {
        return reason;
    }

    /** That node is a replica picked for reads. */
    boolean replica() {
        return replica;
    }

    /**
     * Answers what pgrelay answers itself at the head of {@code held} (removing it), then decides
     * what to do with the rest; {@code alloc} makes the copies kept for the preamble.
     *
     * @throws io.pgrelay.router.RoutingException when the work must run on the primary and none is in service
     */
    Outcome next(ArrayDeque<ByteBuf> held, ByteBufAllocator alloc) {
        while (true) {
            while (!held.isEmpty()) {
                int answered = answerHead(held, alloc);
                if (answered < 0) {
                    return Outcome.RETRY_LATER;
                }
                if (answered == 0) {
                    break;
                }
                skip(held, answered);
            }
            if (held.isEmpty()) {
                return Outcome.ANSWERED;
            }
            int refused;
            ByteBuf all = view(held);
            try {
                Frames frames = Frames.scan(all, maxHeldBytes);
                if (frames.waiting()) {
                    return Outcome.WAIT_FOR_BYTES;
                }
                try {
                    route(decidingQuery(all, frames.end()), frames.whole());
                    return Outcome.ROUTED;
                } catch (RoutingException e) {
                    if (!NO_REPLICA.equals(e.sqlState()) || !frames.whole()) {
                        throw e;
                    }
                    refused = firstRequestLength(all);
                    reply.accept(BackendMessage.Errors.error(e.sqlState(), e.getMessage()));
                    replyReadyForQuery();
                }
            } finally {
                if (all != held.peek()) {
                    all.release();
                }
            }
            // Only the first request is refused (as PostgreSQL would fail it); what follows is routed afresh.
            skip(held, refused);
        }
    }

    /** The bytes of {@code all}'s first request: up to and including its first Query or Sync. */
    private static int firstRequestLength(ByteBuf all) {
        int i = all.readerIndex();
        while (true) {
            byte type = all.getByte(i);
            i += all.getInt(i + 1) + 1;
            if (type == 'Q' || type == 'S') {
                return i - all.readerIndex();
            }
        }
    }

    /** The next Query message kept for the chosen node, or null; the caller owns it. */
    ByteBuf pollPreamble() {
        return preamble.poll();
    }

    void release() {
        preamble.forEach(ByteBuf::release);
        preamble.clear();
    }

    private void route(ClassifiedQuery query, boolean whole) {
        StatementRoute route = query == null ? null : router.route(query, routing);
        if (route != null && (route.target() == RouteTarget.PRIMARY || whole)) {
            node = ((FailoverTopologyView.RoutedNode) route.node()).node();
            reason = route.reason();
            replica = route.target() == RouteTarget.REPLICA;
            if (replica) {
                ((FailoverTopologyView.RoutedNode) route.node()).counters().chosen();
            }
        } else {
            node = router.routeSession().node();
            reason = RouteReason.CLASSIFIED_PRIMARY;
            replica = false;
        }
    }

    /**
     * Answers the first held message if it is a Query pgrelay answers itself; returns its length,
     * 0 if it is not one (or not whole yet), -1 if its answer must wait.
     */
    private int answerHead(ArrayDeque<ByteBuf> held, ByteBufAllocator alloc) {
        ByteBuf all = view(held);
        try {
            int i = all.readerIndex();
            if (all.readableBytes() >= 5 && all.getByte(i) == 'P') {
                return answerBatch(all, i, alloc);
            }
            if (all.readableBytes() < 5 || all.getByte(i) != 'Q') {
                return 0;
            }
            int length = all.getInt(i + 1) + 1;
            if (length < 6 || all.readableBytes() < length || !mayAnswer(all, i + 5, i + length)) {
                return 0;
            }
            ClassifiedQuery q = SqlText.classify(router.classifier(), all, i + 5, length - 6);
            if (transactionStart(q)) {
                ByteBuf copy = alloc.buffer(length);
                all.getBytes(i, copy, length);
                preamble.add(copy);
                startTransaction(q.analysis(), true);
                return length;
            }
            if (showsLastWriteLsn(q.analysis(), all, i + 5)) {
                return answerLastWriteLsn() ? length : -1;
            }
            return 0;
        } finally {
            if (all != held.peek()) {
                all.release();
            }
        }
    }

    /**
     * The extended-protocol form of what {@link #answerHead} answers: a {@link SimpleBatch} of a
     * BEGIN / START TRANSACTION or of SHOW pgrelay.last_write_lsn (the JDBC driver's
     * {@code execute("BEGIN READ ONLY")}, {@code executeQuery("SHOW pgrelay.last_write_lsn")}).
     */
    private int answerBatch(ByteBuf all, int i, ByteBufAllocator alloc) {
        SimpleBatch batch = SimpleBatch.at(all, i);
        if (batch == null || !mayAnswer(all, batch.textFrom(), batch.textFrom() + batch.textLength())) {
            return 0;
        }
        ClassifiedQuery q = SqlText.classify(router.classifier(), all, batch.textFrom(), batch.textLength());
        if (q.analysis().statements().size() == 1 && transactionStart(q)) {
            ByteBuf query = alloc.buffer(batch.textLength() + 6);
            query.writeByte('Q').writeInt(batch.textLength() + 5);
            all.getBytes(batch.textFrom(), query, batch.textLength());
            query.writeByte(0);
            preamble.add(query);
            reply.accept(BackendMessage.ParseComplete.INSTANCE);
            reply.accept(BackendMessage.BindComplete.INSTANCE);
            if (batch.describe()) {
                reply.accept(BackendMessage.NoData.INSTANCE);
            }
            startTransaction(q.analysis(), true);
            return batch.length();
        }
        if (showsLastWriteLsn(q.analysis(), all, batch.textFrom())) {
            if (!lastWriteLsnKnown()) {
                return -1;
            }
            reply.accept(BackendMessage.ParseComplete.INSTANCE);
            reply.accept(BackendMessage.BindComplete.INSTANCE);
            List<BackendMessage> rows = lastWriteLsnRows();
            // Without a Describe the client gets no RowDescription.
            rows.subList(batch.describe() ? 0 : 1, rows.size()).forEach(reply);
            replyReadyForQuery();
            return batch.length();
        }
        return 0;
    }

    /**
     * False when the text cannot start with BEGIN, START, SET or SHOW (or a comment): spares the
     * common Query, a SELECT say, a second classification.
     */
    private static boolean mayAnswer(ByteBuf buf, int from, int to) {
        int k = from;
        while (k < to && Character.isWhitespace(buf.getByte(k))) {
            k++;
        }
        if (to - k < 3) {
            return false;
        }
        int a = buf.getByte(k) | 0x20;
        int b = buf.getByte(k + 1) | 0x20;
        int c = buf.getByte(k + 2) | 0x20;
        return a == '/' || a == '-' || (a == 'b' && b == 'e')
                || (a == 's' && (b == 't' || b == 'h' || (b == 'e' && c == 't')));
    }

    /**
     * A Query of only BEGIN / START TRANSACTION (outside a transaction) or SET TRANSACTION with
     * modes (before the transaction's first statement), with no hint that would place it itself.
     */
    private boolean transactionStart(ClassifiedQuery q) {
        List<StatementInfo> all = q.analysis().statements();
        if (all.isEmpty() || q.hints().forcePrimary() || q.hints().replica()) {
            return false;
        }
        boolean begins = all.getFirst().beginsTransaction();
        if (begins ? routing.inTransaction() : !routing.inTransaction() || routing.transactionPlaced()) {
            return false;
        }
        for (int k = 0; k < all.size(); k++) {
            StatementInfo s = all.get(k);
            boolean ok = k == 0 && begins ? s.beginsTransaction()
                    : s.kind() == StatementKind.SET_TRANSACTION && s.transactionModes() != 0;
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    /** Tells routing of a transaction's start (and answers the client if pgrelay holds it back). */
    private void startTransaction(SqlAnalysis analysis, boolean answer) {
        for (StatementInfo s : analysis.statements()) {
            if (s.beginsTransaction()) {
                routing.defaultTransactionReadOnly(settings.defaultTransactionReadOnly());
                routing.beginTransaction(s.transactionModes());
            } else {
                routing.transactionModes(s.transactionModes());
            }
            if (answer) {
                reply.accept(new BackendMessage.CommandComplete(s.kind() == StatementKind.START_TRANSACTION
                        ? "START TRANSACTION" : s.beginsTransaction() ? "BEGIN" : "SET"));
            }
        }
        if (answer) {
            reply.accept(new BackendMessage.ReadyForQuery(TransactionStatus.IN_TRANSACTION));
        }
    }

    /** {@code SHOW pgrelay.last_write_lsn} alone in a Query whose text starts at {@code textStart}. */
    static boolean showsLastWriteLsn(SqlAnalysis analysis, ByteBuf buf, int textStart) {
        if (analysis.statements().size() != 1 || analysis.statements().getFirst().kind() != StatementKind.SHOW) {
            return false;
        }
        StatementInfo s = analysis.statements().getFirst();
        StringBuilder name = new StringBuilder(32);
        for (int k = textStart + s.start() + 4; k < textStart + s.end() && name.length() <= LAST_WRITE_LSN.length(); k++) {
            char c = (char) (buf.getByte(k) & 0xff);
            if (!Character.isWhitespace(c) && c != '"') {
                name.append(Character.toLowerCase(c));
            }
        }
        return name.toString().equals(LAST_WRITE_LSN);
    }

    /** Answers SHOW pgrelay.last_write_lsn once the position is known; false if it must wait. */
    private boolean answerLastWriteLsn() {
        if (!lastWriteLsnKnown()) {
            return false;
        }
        lastWriteLsnRows().forEach(reply);
        replyReadyForQuery();
        return true;
    }

    /**
     * True once the monitor has sampled the primary after the client's last write, or after
     * {@link #LSN_WAIT_NANOS} of asking (then the latest sample is the answer).
     */
    private boolean lastWriteLsnKnown() {
        FailoverTopologyView topology = router.view();
        if (!routing.lastWriteLsnKnown(topology)) {
            long now = System.nanoTime();
            if (lsnWaitSince == 0) {
                lsnWaitSince = now;
                return false;
            }
            if (now - lsnWaitSince < LSN_WAIT_NANOS) {
                return false;
            }
        }
        lsnWaitSince = 0;
        return true;
    }

    private void replyReadyForQuery() {
        reply.accept(new BackendMessage.ReadyForQuery(routing.inTransaction() ? TransactionStatus.IN_TRANSACTION
                : TransactionStatus.IDLE));
    }

    /** The result of SHOW pgrelay.last_write_lsn, up to its CommandComplete; NULL when the client has not written. */
    List<BackendMessage> lastWriteLsnRows() {
        long lsn = routing.lastWriteLsn(router.view());
        return List.of(LSN_COLUMNS,
                new BackendMessage.DataRow(Collections.singletonList(lsn < 0 ? null : Hints.formatLsn(lsn))),
                new BackendMessage.CommandComplete("SHOW"));
    }

    /**
     * Classifies the statements in the whole messages held: Query and Parse texts, and the text of
     * a named statement a Bind runs. BEGIN and SET TRANSACTION among them tell routing of the
     * transaction; of the rest, the first that needs the primary decides, else the first.
     */
    private ClassifiedQuery decidingQuery(ByteBuf all, int end) {
        ClassifiedQuery first = null;
        ClassifiedQuery primary = null;
        int i = all.readerIndex();
        while (i < end) {
            byte type = all.getByte(i);
            int length = all.getInt(i + 1) + 1;
            ClassifiedQuery q = switch (type) {
                case 'Q' -> SqlText.classify(router.classifier(), all, i + 5, length - 6);
                case 'P' -> {
                    int from = ExtendedQuery.queryStart(all, i, length);
                    yield SqlText.classify(router.classifier(), all, from, ExtendedQuery.queryEnd(all, i, length) - from);
                }
                case 'B' -> statementQuery(statements.get(ExtendedQuery.bindStatementName(all, i, length)));
                default -> null;
            };
            i += length;
            if (q == null) {
                continue;
            }
            if (type != 'B' && transactionStart(q)) {
                startTransaction(q.analysis(), false);
                continue;
            }
            first = first == null ? q : first;
            primary = primary == null && !q.replicaSafe() ? q : primary;
        }
        return primary != null ? primary : first;
    }

    /** The classification of a named statement's text, or null. */
    ClassifiedQuery statementQuery(ClientStatement statement) {
        return statement == null ? null : router.classifier().classify(statement.body(), 0,
                ExtendedQuery.queryLength(statement.body()));
    }

    private static ByteBuf view(ArrayDeque<ByteBuf> held) {
        return held.size() == 1 ? held.peek()
                : Unpooled.wrappedBuffer(held.stream().map(ByteBuf::retainedDuplicate).toArray(ByteBuf[]::new));
    }

    /** Drops the first {@code n} held bytes (whole messages pgrelay has answered). */
    private static void skip(ArrayDeque<ByteBuf> held, int n) {
        while (n > 0) {
            ByteBuf b = held.peek();
            int r = b.readableBytes();
            if (r <= n) {
                held.poll().release();
                n -= r;
            } else {
                b.skipBytes(n);
                n = 0;
            }
        }
    }

    /**
     * Parse (unnamed), Bind (unnamed portal of the unnamed statement, no parameters, text results),
     * an optional Describe of that portal, Execute and Sync, whole, at the start of the held bytes.
     *
     * @param textFrom   where the statement text starts
     * @param textLength its length in bytes
     * @param describe   the batch describes the portal
     * @param length     the length of the whole batch
     */
    record SimpleBatch(int textFrom, int textLength, boolean describe, int length) {
        static SimpleBatch at(ByteBuf all, int start) {
            int end = all.writerIndex();
            int p = frame(all, start, end, 'P');
            if (p < 0 || all.getByte(start + 5) != 0) {
                return null;
            }
            int from = ExtendedQuery.queryStart(all, start, p);
            int to = ExtendedQuery.queryEnd(all, start, p);
            int b = start + p;
            int bLength = frame(all, b, end, 'B');
            if (bLength < 0 || !bindsPlainly(all, b, b + bLength)) {
                return null;
            }
            int k = b + bLength;
            int d = frame(all, k, end, 'D');
            boolean describe = d == 7 && all.getByte(k + 5) == 'P' && all.getByte(k + 6) == 0;
            if (d >= 0 && !describe) {
                return null;
            }
            k += describe ? d : 0;
            int e = frame(all, k, end, 'E');
            if (e != 10 || all.getByte(k + 5) != 0) {
                return null;
            }
            k += e;
            int sync = frame(all, k, end, 'S');
            return sync == 4 + 1 ? new SimpleBatch(from, to - from, describe, k + sync - start) : null;
        }

        /** The length of the whole message of {@code type} at {@code i}, or -1. */
        private static int frame(ByteBuf all, int i, int end, char type) {
            if (end - i < 5 || all.getByte(i) != type) {
                return -1;
            }
            int length = all.getInt(i + 1) + 1;
            return length >= 5 && end - i >= length ? length : -1;
        }

        /** Unnamed portal and statement, no parameters, every result column in text. */
        private static boolean bindsPlainly(ByteBuf all, int i, int end) {
            int k = i + 5;
            if (end - k < 8 || all.getByte(k) != 0 || all.getByte(k + 1) != 0) {
                return false;
            }
            k += 2;
            int formats = all.getShort(k);
            k += 2 + 2 * Math.max(formats, 0);
            if (formats < 0 || k + 4 > end || all.getShort(k) != 0) {
                return false;
            }
            k += 2;
            int results = all.getShort(k);
            k += 2;
            for (int r = 0; r < results; r++) {
                if (k + 2 > end || all.getShort(k) != 0) {
                    return false;
                }
                k += 2;
            }
            return k == end;
        }
    }

    /**
     * The framing of the held bytes: where the whole messages end, and whether they end a request.
     *
     * @param end     index after the last whole message
     * @param whole   the held bytes are whole messages ending at a Sync or a Query
     * @param waiting a request is still arriving: wait for more bytes before routing
     */
    record Frames(int end, boolean whole, boolean waiting) {
        static Frames scan(ByteBuf all, int maxHeldBytes) {
            boolean primaryOnly = false;
            boolean tooLarge = all.readableBytes() >= maxHeldBytes;
            byte last = 0;
            int i = all.readerIndex();
            int end = all.writerIndex();
            while (end - i >= 5) {
                int length = all.getInt(i + 1) + 1;
                if (length < 5 || length > maxHeldBytes) {
                    // The framer refuses it once it is fed; nothing to wait for.
                    tooLarge = true;
                    break;
                }
                if (end - i < length) {
                    break;
                }
                last = all.getByte(i);
                primaryOnly |= last == 'F' || last == 'd' || last == 'c' || last == 'f';
                i += length;
            }
            boolean requestEnds = i == end && (last == 'S' || last == 'Q');
            // A Flush or Terminate asks for an answer (or the end) now.
            boolean answerDue = i == end && (last == 'H' || last == 'X');
            boolean waiting = !requestEnds && !answerDue && !primaryOnly && !tooLarge;
            return new Frames(i, requestEnds && !primaryOnly, waiting);
        }
    }
}
