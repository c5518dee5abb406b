package io.pgrelay.server.session;

import io.pgrelay.conf.PgRelayConfig;
import io.pgrelay.pool.Pools;
import io.pgrelay.router.policy.Consistency;
import io.pgrelay.router.Router;
import io.pgrelay.server.admin.NodeControl;
import io.pgrelay.server.auth.ClientAuth;
import io.pgrelay.server.cancel.CancelRegistry;
import io.pgrelay.server.metrics.SessionMeters;
import io.pgrelay.server.reload.Reloader;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What every client session of one pgrelay process shares: authentication, pools, routing,
 * cancel keys, and the set of live client connections (for shutdown).
 */
public final class SessionServices {
    /** Replaced at reload; a login reads it once, at its start. */
    private volatile ClientAuth auth;
    private final Pools pools;
    private final Router router;
    private final CancelRegistry cancels;
    private final int maxMessageSize;
    private final Duration startupTimeout;
    private final int maxClientConnections;
    private final Set<ClientHandler> clients = ConcurrentHashMap.newKeySet();
    private final ServerStatementNames statementNames = new ServerStatementNames();
    private volatile boolean draining;
    private volatile NodeControl nodeControl;
    private volatile SessionMeters meters = SessionMeters.unexported();

    public SessionServices(ClientAuth auth, Pools pools, Router router, CancelRegistry cancels,
                           int maxMessageSize, Duration startupTimeout, int maxClientConnections) {
        this.auth = auth;
        this.pools = pools;
        this.router = router;
        this.cancels = cancels;
        this.maxMessageSize = maxMessageSize;
        this.startupTimeout = startupTimeout;
        this.maxClientConnections = maxClientConnections;
    }

    public ClientAuth auth() {
        return auth;
    }

    /** The users and rules for new logins from now on, after a reload. */
    public void auth(ClientAuth next) {
        this.auth = next;
    }

    public Pools pools() {
        return pools;
    }

    public Router router() {
        return router;
    }

    public CancelRegistry cancels() {
        return cancels;
    }

    public int maxMessageSize() {
        return maxMessageSize;
    }

    public Duration startupTimeout() {
        return startupTimeout;
    }

    /** pgrelay's names for prepared statements on servers (transaction pooling). */
    public ServerStatementNames statementNames() {
        return statementNames;
    }

    /** max_client_conn: most client connections at once. */
    public int maxClientConnections() {
        return maxClientConnections;
    }

    /** The live client connections, logging in or logged in. */
    public Set<ClientHandler> clients() {
        return clients;
    }

    /** True once a graceful shutdown has begun. */
    public boolean draining() {
        return draining;
    }

    public void startDraining() {
        draining = true;
    }

    // ---- for the admin console (kept at the end of the class for easier merges)

    private final RelayStats stats = new RelayStats();
    private volatile PgRelayConfig config;
    private volatile Runnable shutdownRequest = () -> { };
    private volatile Reloader reloader;

    public RelayStats stats() {
        return stats;
    }

    /** The configuration the process runs with, for the admin console; null in tests that set none. */
    public PgRelayConfig config() {
        return config;
    }

    public void config(PgRelayConfig config) {
        this.config = config;
    }

    /**
     * The consistency of a new client of {@code database} logged in as {@code user}: its user's,
     * else its database's, else {@code routing.consistency}; session when no configuration is set.
     */
    public Consistency consistency(String database, String user) {
        PgRelayConfig c = config;
        return c == null ? Consistency.SESSION
                : Consistency.valueOf(c.routing().consistencyFor(database, user).name());
    }

    /** What RELOAD on the admin console runs; null in tests that set none. */
    public Reloader reloader() {
        return reloader;
    }

    public void reloader(Reloader reloader) {
        this.reloader = reloader;
    }

    /** Sets what SHUTDOWN on the admin console does: the same graceful stop as SIGTERM. */
    public void onShutdownRequest(Runnable action) {
        this.shutdownRequest = action;
    }

    public void requestShutdown() {
        shutdownRequest.run();
    }

    /** The operator's promote/attach/detach for the admin console; null in tests that set none. */
    public NodeControl nodeControl() {
        return nodeControl;
    }

    public void nodeControl(NodeControl nodeControl) {
        this.nodeControl = nodeControl;
    }

    /** The meters sessions update; sessions read it once, when they start. */
    public SessionMeters meters() {
        return meters;
    }

    public void meters(SessionMeters meters) {
        this.meters = meters;
    }
}
