package io.pgrelay.server;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.pgrelay.conf.HostPort;
import io.pgrelay.conf.PgRelayConfig;
import io.pgrelay.conf.PoolConfig;
import io.pgrelay.conf.PoolMode;
import io.pgrelay.failover.FailoverService;
import io.pgrelay.failover.FailoverStatus;
import io.pgrelay.failover.Node;
import io.pgrelay.failover.Topology;
import io.pgrelay.failover.TopologyHolder;
import io.pgrelay.pool.ConnectionCaps;
import io.pgrelay.pool.PoolKey;
import io.pgrelay.pool.PoolSettings;
import io.pgrelay.pool.Pools;
import io.pgrelay.server.reload.LiveKeys;
import io.pgrelay.server.reload.Reloader;
import io.pgrelay.pool.ServerConnector;
import io.pgrelay.router.Router;
import io.pgrelay.server.auth.ClientAuth;
import io.pgrelay.server.cancel.CancelRegistry;
import io.pgrelay.server.http.AdminBindException;
import io.pgrelay.server.admin.AdminApi;
import io.pgrelay.server.admin.NodeControl;
import io.pgrelay.server.http.AdminServer;
import io.pgrelay.server.metrics.RelayMetrics;
import io.pgrelay.server.metrics.SessionMeters;
import io.pgrelay.server.session.ClientHandler;
import io.pgrelay.server.session.ClientLogin;
import io.pgrelay.server.routing.FunctionCatalogRefresh;
import io.pgrelay.server.routing.RouterSetup;
import io.pgrelay.server.session.SessionServices;
import io.pgrelay.wire.codec.StartupPacketDecoder;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pgrelay daemon: listens for clients, authenticates them, and proxies each to a pooled
 * server connection. {@link #start()} binds; {@link #shutdown(Duration)} drains gracefully.
 */
public final class PgRelayServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PgRelayServer.class);
    /** Pause reading a peer once this much is queued for the other side (back-pressure). */
    private static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(64 * 1024, 256 * 1024);

    private final PgRelayConfig config;
    private final Transport transport = Transport.best();
    private final EventLoopGroup bossGroup;
    private final EventLoopGroup workerGroup;
    private final SessionServices services;
    private final Pools pools;
    private final Reloader reloader;
    private final RelayMetrics metrics = new RelayMetrics();
    private final AdminServer admin;
    private final TopologyHolder topology;
    private final Router router;
    private volatile FailoverService failover;
    private volatile FunctionCatalogRefresh functionCatalog;
    private final NodeControl nodeControl;
    private volatile Channel listener;
    private boolean stopped;

    /** A daemon for {@code config}; nothing runs until {@link #start()}. */
    public PgRelayServer(PgRelayConfig config) {
        this.config = config;
        int threads = config.eventLoopThreads() > 0 ? config.eventLoopThreads() : Transport.defaultThreads();
        this.bossGroup = transport.newGroup(1, "pgrelay-accept");
        this.workerGroup = transport.newGroup(threads, "pgrelay-io");
        Bootstrap serverBootstrap = new Bootstrap()
                .group(workerGroup)
                .channel(transport.clientChannel())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK);
        PoolConfig pc = config.pool();
        this.reloader = new Reloader(config);
        // Sizes, caps and timeouts follow reloads; mode, statement cap and connecting need a restart.
        Function<PoolKey, PoolSettings> settingsFor = key -> {
            PoolConfig now = reloader.current().pool();
            int size = now.sizeFor(key.database());
            return new PoolSettings(size, now.serverResetQuery(), pc.serverConnectTimeout(), now.queryWaitTimeout(),
                    config.maxMessageSize(), pc.modeFor(key.database(), key.user()) == PoolMode.TRANSACTION,
                    pc.maxPreparedStatements(), Math.min(now.minPoolSize(), size), now.reservePoolSize(),
                    now.reservePoolTimeout(), now.serverIdleTimeout(), now.serverLifetime(), now.serverCheckDelay());
        };
        // Connecting uses only what every pool shares: timeouts, message size, statement cap.
        PoolSettings connectorSettings = PoolSettings.of(pc.size(), pc.serverResetQuery(), pc.serverConnectTimeout(),
                pc.queryWaitTimeout(), config.maxMessageSize(), false, pc.maxPreparedStatements());
        this.pools = new Pools(settingsFor, new ServerConnector(serverBootstrap, connectorSettings),
                new ConnectionCaps(db -> reloader.current().pool().maxDatabaseConnections(db),
                        user -> reloader.current().pool().maxUserConnections(user)));
        this.topology = new TopologyHolder(Topology.fromConfig(config.nodes(), Instant.now()));
        this.router = RouterSetup.create(config.routing(), topology);
        topology.subscribe(new NodeRetirement(pools));
        this.services = new SessionServices(new ClientAuth(config.auth()), pools, router,
                new CancelRegistry(serverBootstrap.clone()), config.maxMessageSize(), config.startupTimeout(),
                pc.maxClientConn());
        metrics.clientConnections(services::clients);
        metrics.serverConnections(pools::all);
        metrics.authFailures(services.stats()::authFailures);
        metrics.routing(router.counters());
        metrics.pools(pools::all);
        metrics.nodes(topology::current);
        metrics.routerCache(router.classifier()::stats);
        metrics.failovers(this::failoverStatus);
        services.meters(new SessionMeters(metrics.registry()));
        this.nodeControl = new NodeControl(topology::current);
        services.nodeControl(nodeControl);
        this.admin = new AdminServer(config.admin(), metrics, this::whyNotReady,
                new AdminApi(services, topology::current));
        services.config(config);
        services.reloader(reloader);
        // SHOW CONFIG and GET /api/v1/config show the configuration last loaded.
        reloader.onLoaded(services::config)
                .live(LiveKeys::pool, next -> pools.refreshSettings())
                // New logins read these from services.config(), which every accepted reload sets.
                .live(LiveKeys::session, next -> { })
                .live(LiveKeys::auth, next -> services.auth(new ClientAuth(next.auth())))
                .live(LiveKeys::routing, next -> RouterSetup.apply(router, next.routing()));
        onShutdownRequest(() -> Thread.ofPlatform().name("pgrelay-shutdown").start(() -> {
            try {
                shutdown(config.shutdownTimeout());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
    }

    /**
     * Sets what SHUTDOWN on the admin console does; by default a graceful {@link #shutdown} on a
     * thread of its own. {@code pgrelay serve} makes it do what SIGTERM does.
     */
    public void onShutdownRequest(Runnable action) {
        services.onShutdownRequest(action);
    }

    /**
     * Binds the admin endpoint, then the listen address; returns once pgrelay accepts connections.
     *
     * @throws AdminBindException if the admin address cannot be bound, naming it
     */
    public PgRelayServer start() throws InterruptedException, AdminBindException {
        admin.start();
        log.info("admin endpoint on http://{}",
                new HostPort(admin.localAddress().getHostString(), admin.localAddress().getPort()));
        ServerBootstrap b = new ServerBootstrap()
                .group(bossGroup, workerGroup)
                .channel(transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 4096)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast("startup", new StartupPacketDecoder());
                        ch.pipeline().addLast("login", new ClientLogin(services));
                    }
                });
        listener = b.bind(config.listen().host(), config.listen().port()).sync().channel();
        // After the bind, so that a taken port leaves no monitor threads behind. The monitor
        // updates the holder the router reads: roles, health and WAL positions.
        failover = FailoverService.start(config, topology, Clock.systemUTC());
        functionCatalog = FunctionCatalogRefresh.start(router, topology, config.monitor(),
                config.routing().functionRefreshPeriod());
        nodeControl.controller(failover.controller());
        InetSocketAddress bound = localAddress();
        log.info("pgrelay listening on {}:{} ({} transport, primary {})", bound.getHostString(), bound.getPort(),
                transport.name(), config.primary().address());
        return this;
    }

    /** The address actually bound (useful with port 0). */
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) listener.localAddress();
    }

    /** The admin endpoint's address actually bound. */
    public InetSocketAddress adminAddress() {
        return admin.localAddress();
    }

    /** What the failover controller has done; nothing before it starts. */
    private FailoverStatus failoverStatus() {
        FailoverService f = failover;
        return f == null ? new FailoverStatus(0, 0, "", Duration.ZERO) : f.controller().status();
    }

    /** The meter registry that /metrics exports; add pgrelay's meters here. */
    public RelayMetrics metrics() {
        return metrics;
    }

    /** The monitor and failover controller; null until {@link #start()}. */
    public FailoverService failover() {
        return failover;
    }

    /** The nodes as the monitor last saw them; read without locks. */
    public TopologyHolder topology() {
        return topology;
    }

    /** Ready for clients once the listener is bound and a primary is in service, until a shutdown begins. */
    private Optional<String> whyNotReady() {
        if (services.draining()) {
            return Optional.of("shutting down");
        }
        if (topology.current().primary().isEmpty()) {
            return Optional.of("no primary node is in service");
        }
        Channel l = listener;
        return l != null && l.isActive() ? Optional.empty() : Optional.of("not listening for clients yet");
    }

    /** Re-reads and applies the configuration; {@code pgrelay serve} gives it the file and flags. */
    public Reloader reloader() {
        return reloader;
    }

    public SessionServices services() {
        return services;
    }

    /**
     * Stops accepting, lets sessions finish their running transactions for up to {@code timeout},
     * then ends the rest with 57P01 and closes all server connections. A second call (SHUTDOWN on
     * the admin console, then SIGTERM) waits for the first to finish and returns.
     */
    public synchronized void shutdown(Duration timeout) throws InterruptedException {
        if (stopped) {
            return;
        }
        // Draining first: between the listener closing and this, /health/ready would give the
        // wrong reason ("not listening" instead of "shutting down").
        services.startDraining();
        if (listener != null) {
            listener.close().sync();
        }
        services.clients().forEach(ClientHandler::drain);
        awaitNoClients(timeout);
        if (!services.clients().isEmpty()) {
            log.warn("shutdown_timeout {}ms reached: terminating {} sessions still in a transaction",
                    timeout.toMillis(), services.clients().size());
            services.clients().forEach(ClientHandler::terminate);
            awaitNoClients(Duration.ofSeconds(2));
        }
        pools.closeIdle();
        FailoverService f = failover;
        if (f != null) {
            f.close();
        }
        FunctionCatalogRefresh refresh = functionCatalog;
        if (refresh != null) {
            refresh.close();
        }
        router.close();
        TimeUnit.MILLISECONDS.sleep(50);
        workerGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
        bossGroup.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
        // Last, so that probes see 503 from /health/ready for the whole drain.
        admin.close();
        reloader.close();
        metrics.close();
        stopped = true;
        log.info("pgrelay stopped");
    }

    private void awaitNoClients(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!services.clients().isEmpty() && System.nanoTime() < deadline) {
            TimeUnit.MILLISECONDS.sleep(20);
        }
    }

    @Override
    public void close() throws InterruptedException {
        shutdown(config.shutdownTimeout());
    }
}
