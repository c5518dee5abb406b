package io.pgrelay.pool;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import io.pgrelay.wire.SqlState;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server connections of one (node, database, user) on one event loop: leases them to clients,
 * takes them back through the reset query, opens new ones up to the size limit and queues
 * clients beyond it. Every method runs on {@link #loop()}, so nothing here is locked.
 */
public final class Pool {
    private static final Logger log = LoggerFactory.getLogger(Pool.class);
    /** How often, and how many times, a busy abandoned connection is cancelled before it is closed. */
    static final int ABANDON_RETRY_MILLIS = 500;
    static final int ABANDON_ATTEMPTS = 10;
    /** How often idle connections are checked against the idle timeout, the lifetime and min_pool_size. */
    static final int MAINTENANCE_MILLIS = 1000;
    /** Each connection's lifetime is shortened by up to this fraction, so a pool does not recycle all at once. */
    static final double LIFETIME_JITTER = 0.2;
    /** A liveness check: the cheapest statement, answered with EmptyQueryResponse. */
    static final String CHECK_QUERY = ";";

    private final PoolKey key;
    private final EventLoop loop;
    /** Replaced at reload; read and written only on {@link #loop}. */
    private PoolSettings settings;
    private final ServerConnector connector;
    private final ConnectionCaps caps;
    private final ArrayDeque<ServerConnection> idle = new ArrayDeque<>();
    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    private int connecting;
    private int active;
    private int resetting;
    private int idleCount;
    private boolean servingWaiters;
    /** What the last lease asked for: how connections kept warm (min_pool_size) are opened. */
    private Map<String, String> lastParameters;
    private BackendCredentials lastCredentials;

    Pool(PoolKey key, EventLoop loop, PoolSettings settings, ServerConnector connector, ConnectionCaps caps) {
        this.key = key;
        this.loop = loop;
        this.settings = settings;
        this.connector = connector;
        this.caps = caps;
        loop.scheduleWithFixedDelay(this::maintain, MAINTENANCE_MILLIS, MAINTENANCE_MILLIS, TimeUnit.MILLISECONDS);
    }

    public PoolKey key() {
        return key;
    }

    public EventLoop loop() {
        return loop;
    }

    /** This pool's settings (its mode and size may differ by database and user). */
    public PoolSettings settings() {
        return settings;
    }

    /**
     * Takes {@code next} as this pool's settings, on its loop; waiters are served at once so a
     * larger size helps the clients already queued.
     */
    void update(PoolSettings next) {
        loop.execute(() -> {
            settings = next;
            serveWaiters();
        });
    }

    /** Connections counted against the size limit: connecting, idle, leased or resetting. */
    public int total() {
        return connecting + idleCount + active + resetting;
    }

    public int active() {
        return active;
    }

    public int idle() {
        return idleCount;
    }

    /** Connections being opened (TCP connect, startup, authentication). */
    public int connecting() {
        return connecting;
    }

    /** Connections running the reset query on their way back to idle. */
    public int resetting() {
        return resetting;
    }

    public int waiting() {
        return waiters.size();
    }

    /**
     * Leases a server connection opened with exactly {@code parameters}, so that the client's
     * startup settings (and RESET) behave as if it were connected directly; in transaction
     * pooling any connection of the pool, and new ones are opened with {@code parameters}. The
     * future fails with a {@link PoolException}.
     */
    public Future<ServerConnection> lease(Map<String, String> parameters, BackendCredentials credentials) {
        Promise<ServerConnection> promise = loop.newPromise();
        lastParameters = parameters;
        lastCredentials = credentials;
        Waiter waiter = new Waiter(parameters, credentials, promise);
        if (!tryServe(waiter)) {
            waiter.timer = loop.schedule(() -> expire(waiter), settings.waitTimeout().toMillis(), TimeUnit.MILLISECONDS);
            if (settings.reserveSize() > 0) {
                loop.schedule(this::serveWaiters, settings.reserveTimeout().toMillis(), TimeUnit.MILLISECONDS);
            }
            waiters.add(waiter);
        }
        return promise;
    }

    /**
     * Takes a connection back from a client. A clean one is pooled, through the reset query in
     * session pooling; one that is mid-transaction, mid-query or broken is closed, since no other
     * client may inherit its state.
     */
    public void release(ServerConnection server) {
        release(server, !settings.transactionPooling());
    }

    /**
     * Takes back a connection that carries session state no other client may inherit (a client
     * pinned to it in transaction pooling): it is pooled only through the reset query.
     */
    public void releaseAfterReset(ServerConnection server) {
        release(server, true);
    }

    private void release(ServerConnection server, boolean reset) {
        server.detach();
        if (server.state() == ServerState.CLOSED) {
            return;
        }
        if (!server.reusable() || server.expired()) {
            log.debug("closing server {}: released while {} (transaction {})", server,
                    server.busy() ? "busy" : "not reusable", server.transactionStatus());
            server.close();
            return;
        }
        if (!reset) {
            resetDone(server);
        } else if (!settings.resetQuery().isEmpty()) {
            server.reset(settings.resetQuery(), true);
        } else if (settings.transactionPooling()) {
            // Nothing would clear what the pinned client left behind.
            server.close();
        } else {
            resetDone(server);
        }
    }

    /**
     * Takes back a connection whose client left while the server still works for it: cancels the
     * work, sending the cancel again while the server stays busy (PostgreSQL ignores a cancel that
     * arrives before it starts the query), and releases the connection once the server is idle.
     * Gives up and closes it after {@link #ABANDON_ATTEMPTS} attempts.
     */
    public void releaseWhenIdle(ServerConnection server, Runnable sendCancel) {
        server.detach();
        if (server.state() == ServerState.CLOSED) {
            return;
        }
        server.onceIdle(() -> release(server));
        sendCancel.run();
        new CancelRetry(server, sendCancel).start();
    }

    /** Sends the cancel again while an abandoned connection stays busy; closes it after the last try. */
    private final class CancelRetry implements Runnable {
        private final ServerConnection server;
        private final Runnable sendCancel;
        private int attempts = 1;
        private ScheduledFuture<?> timer;

        CancelRetry(ServerConnection server, Runnable sendCancel) {
            this.server = server;
            this.sendCancel = sendCancel;
        }

        void start() {
            timer = loop.scheduleAtFixedRate(this, ABANDON_RETRY_MILLIS, ABANDON_RETRY_MILLIS, TimeUnit.MILLISECONDS);
        }

        @Override
        public void run() {
            if (server.state() == ServerState.CLOSED || !server.busy()) {
                timer.cancel(false);
            } else if (attempts++ < ABANDON_ATTEMPTS) {
                sendCancel.run();
            } else {
                log.warn("server {} still busy after {} cancels for a client that left; closing it", server, ABANDON_ATTEMPTS);
                timer.cancel(false);
                server.close();
            }
        }
    }

    /** Closes every idle connection, e.g. at shutdown. */
    public void closeIdle() {
        while (!idle.isEmpty()) {
            idle.poll().close();
        }
    }

    void resetDone(ServerConnection server) {
        server.markIdle();
        server.transitionTo(ServerState.IDLE);
        server.channel().config().setAutoRead(true);
        idle.addFirst(server);
        serveWaiters();
    }

    /** Keeps the counts right; called by {@link ServerConnection#transitionTo}. */
    void onStateChange(ServerConnection server, ServerState from, ServerState to) {
        adjust(from, -1);
        adjust(to, +1);
        if (to == ServerState.CLOSED) {
            caps.release(key);
            idle.remove(server);
            serveWaiters();
        }
    }

    private void adjust(ServerState state, int delta) {
        switch (state) {
            case CONNECTING -> connecting += delta;
            case IDLE -> idleCount += delta;
            case ACTIVE -> active += delta;
            case RESETTING -> resetting += delta;
            case CLOSED -> {
            }
        }
    }

    void serveWaiters() {
        // tryServe can re-enter through a close (swap) or a connect that fails at once; the
        // outer loop still holds the head waiter, so only it may poll.
        if (servingWaiters) {
            return;
        }
        servingWaiters = true;
        try {
            while (!waiters.isEmpty() && tryServe(waiters.peek())) {
                Waiter w = waiters.poll();
                if (w.timer != null) {
                    w.timer.cancel(false);
                }
            }
        } finally {
            servingWaiters = false;
        }
    }

    /** Serves the waiter now if it can: an idle match, room for a new connection, or a swap. */
    private boolean tryServe(Waiter waiter) {
        if (waiter.promise.isDone()) {
            return true;
        }
        if (paused) {
            return false;
        }
        long checkDelay = settings.checkDelay().toNanos();
        for (Iterator<ServerConnection> it = idle.iterator(); it.hasNext(); ) {
            ServerConnection server = it.next();
            if (server.idleNanos() > checkDelay) {
                // Unused for a while: it may have died quietly. Check it; it serves the queue after.
                it.remove();
                server.reset(CHECK_QUERY, false);
                continue;
            }
            if (settings.transactionPooling() || server.startupParameters().equals(waiter.parameters)) {
                it.remove();
                server.transitionTo(ServerState.ACTIVE);
                if (!waiter.promise.trySuccess(server)) {
                    server.transitionTo(ServerState.IDLE);
                    idle.addFirst(server);
                }
                return true;
            }
        }
        if (total() >= settings.size()) {
            ServerConnection stranger = idle.pollLast();
            if (stranger == null) {
                if (total() < settings.size() + settings.reserveSize()
                        && System.nanoTime() - waiter.sinceNanos >= settings.reserveTimeout().toNanos()
                        && caps.tryAcquire(key)) {
                    log.info("pool {}: a client waited {}ms, opening a reserve connection ({} of reserve_pool_size {})",
                            key, settings.reserveTimeout().toMillis(), total() - settings.size() + 1, settings.reserveSize());
                    open(waiter);
                    return true;
                }
                return false;
            }
            // Full, but an idle connection has other startup parameters: trade it for a fitting one.
            stranger.close();
        }
        if (!caps.tryAcquire(key)) {
            // Its database or user has all the connections it may have; a close elsewhere retries.
            return false;
        }
        open(waiter);
        return true;
    }

    private void open(Waiter waiter) {
        connecting++;
        connector.connect(loop, key, waiter.parameters, waiter.credentials).addListener(f -> {
            if (f.isSuccess()) {
                ServerConnection server = (ServerConnection) f.getNow();
                adopt(server);
                // Born CONNECTING, so this transition is what takes it off the connecting count.
                server.transitionTo(ServerState.ACTIVE);
                if (!waiter.promise.trySuccess(server)) {
                    resetDone(server);
                }
            } else {
                connecting--;
                caps.release(key);
                waiter.promise.tryFailure(f.cause());
                serveWaiters();
            }
        });
    }

    /** Makes a new connection this pool's, with its own slightly shortened lifetime. */
    private void adopt(ServerConnection server) {
        server.attachPool(this);
        long lifetime = settings.lifetime().toNanos();
        server.lifetime(lifetime - (long) (lifetime * LIFETIME_JITTER * ThreadLocalRandom.current().nextDouble()));
    }

    /**
     * Once a second: closes idle connections past their lifetime or unused longer than
     * server_idle_timeout (keeping min_pool_size), and opens connections up to min_pool_size.
     */
    private void maintain() {
        long idleTimeout = settings.idleTimeout().toNanos();
        List<ServerConnection> closing = new ArrayList<>();
        int remaining = total();
        for (Iterator<ServerConnection> it = idle.descendingIterator(); it.hasNext(); ) {
            ServerConnection server = it.next();
            boolean unused = server.idleNanos() > idleTimeout && remaining > settings.minSize();
            if (server.expired() || unused) {
                it.remove();
                closing.add(server);
                remaining--;
            }
        }
        for (ServerConnection server : closing) {
            log.debug("closing idle server {}: {}", server, server.expired() ? "server_lifetime reached" : "server_idle_timeout");
            server.close();
        }
        int missing = settings.minSize() - total();
        for (int i = 0; i < missing && lastCredentials != null && caps.tryAcquire(key); i++) {
            openSpare();
        }
    }

    /** Opens a connection nobody waits for, straight into the idle list. */
    private void openSpare() {
        connecting++;
        connector.connect(loop, key, lastParameters, lastCredentials).addListener(f -> {
            if (f.isSuccess()) {
                ServerConnection server = (ServerConnection) f.getNow();
                adopt(server);
                server.transitionTo(ServerState.ACTIVE);
                resetDone(server);
            } else {
                connecting--;
                caps.release(key);
                log.warn("pool {}: could not open a connection for min_pool_size: {}", key, f.cause().getMessage());
            }
        });
    }

    private void expire(Waiter waiter) {
        if (waiters.remove(waiter)) {
            waiter.promise.tryFailure(new PoolException(SqlState.TOO_MANY_CONNECTIONS,
                    "no server connection free in pool " + key + " (pool_size " + settings.size()
                            + ") within query_wait_timeout " + settings.waitTimeout().toMillis() + "ms"));
        }
    }

    /** A lease not yet served. */
    private static final class Waiter {
        final Map<String, String> parameters;
        final BackendCredentials credentials;
        final Promise<ServerConnection> promise;
        final long sinceNanos = System.nanoTime();
        ScheduledFuture<?> timer;

        Waiter(Map<String, String> parameters, BackendCredentials credentials, Promise<ServerConnection> promise) {
            this.parameters = parameters;
            this.credentials = credentials;
            this.promise = promise;
        }
    }

    // ---- for the admin console (kept at the end of the class for easier merges)

    /** Every connection of this pool past its startup, in any state but closed. */
    private final Set<ServerConnection> members = new LinkedHashSet<>();
    private volatile boolean paused;
    private long serversOpened;
    private long answered;
    private long transactions;

    /**
     * Stops serving leases (PAUSE): new leases wait, up to the query wait timeout, until
     * {@link #resume()}; connections already leased are not touched. Call on any thread.
     */
    public void pause() {
        paused = true;
    }

    /** Serves leases again, the waiting ones first. Call on any thread. */
    public void resume() {
        paused = false;
        loop.execute(this::serveWaiters);
    }

    public boolean paused() {
        return paused;
    }

    /** A snapshot of this pool's connections past startup; call on {@link #loop()}. */
    public List<ServerConnection> servers() {
        return List.copyOf(members);
    }

    /** Connections this pool has opened since it was created. */
    public long serversOpened() {
        return serversOpened;
    }

    /**
     * ReadyForQuery messages its connections received while leased: one per Query, Sync or
     * FunctionCall answered, pgrelay's own settings queries included, reset queries not.
     */
    public long answered() {
        return answered;
    }

    /** Of {@link #answered()}, those that left the server idle: transactions finished. */
    public long transactions() {
        return transactions;
    }

    void track(ServerConnection server) {
        members.add(server);
        serversOpened++;
    }

    void untrack(ServerConnection server) {
        members.remove(server);
    }

    void countReadyForQuery(boolean idle) {
        answered++;
        if (idle) {
            transactions++;
        }
    }
}
