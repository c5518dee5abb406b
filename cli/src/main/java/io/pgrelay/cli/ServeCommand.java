package io.pgrelay.cli;

import io.pgrelay.conf.ConfigException;
import io.pgrelay.conf.ConfigLoader;
import io.pgrelay.conf.PgRelayConfig;
import io.pgrelay.server.PgRelayServer;
import io.pgrelay.server.reload.LiveKeys;
import io.pgrelay.server.http.AdminBindException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code pgrelay serve}: runs the pooler until SIGTERM or SIGINT, which drain it gracefully
 * (stop accepting, let transactions finish up to shutdown_timeout, then close).
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Run pgrelay in the foreground. Flags override the configuration file and PGRELAY_* environment.")
final class ServeCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(ServeCommand.class);

    @Option(names = "--config", paramLabel = "FILE", description = "YAML configuration file")
    Path config;

    @Option(names = "--listen", paramLabel = "HOST:PORT", description = "address for clients (default 127.0.0.1:6432)")
    String listen;

    @Option(names = "--primary", paramLabel = "HOST:PORT", description = "the primary PostgreSQL server")
    String primary;

    @Option(names = "--replica", paramLabel = "HOST:PORT", description = "a streaming replica; repeat for more")
    List<String> replicas;

    @Option(names = "--pool-mode", paramLabel = "MODE", description = "session or transaction")
    String poolMode;

    @Option(names = "--consistency", paramLabel = "MODE", description = "read/write splitting in transaction pooling: "
            + "session (read-your-writes, default), eventual or primary; databases[].consistency and "
            + "users[].consistency of the file still win")
    String consistency;

    @Option(names = "--pool-size", paramLabel = "N", description = "server connections per pool")
    Integer poolSize;

    @Option(names = "--admin-listen", paramLabel = "HOST:PORT", description = "address of the HTTP admin endpoint: "
            + "/health/live, /health/ready, /metrics (default 127.0.0.1:6433; a non-loopback address needs admin.token)")
    String adminListen;

    @Option(names = "--log-format", paramLabel = "FORMAT", description = "text (default) or json: one JSON object "
            + "per line on standard error, for log shippers")
    String logFormat;

    @Option(names = "--log-level", paramLabel = "LEVEL", description = "trace, debug, info (default), warn or error")
    String logLevel;

    @Option(names = "--failover-grace-period", paramLabel = "DURATION", description = "how long the primary must "
            + "stay down before a standby is promoted, e.g. 10s (default) or 500ms (failover.grace_period)")
    String failoverGracePeriod;

    @Option(names = "--failover-wait-timeout", paramLabel = "DURATION", description = "how long work for the "
            + "primary waits for one during a failover before it fails, e.g. 30s (default) (failover.wait_timeout)")
    String failoverWaitTimeout;

    @Override
    public Integer call() throws Exception {
        PgRelayConfig cfg;
        PgRelayServer server;
        try {
            Map<String, String> env = System.getenv();
            Map<String, String> flags = overrides();
            cfg = ConfigLoader.load(Optional.ofNullable(config), env, flags);
            LogSetup.apply(cfg.log());
            server = new PgRelayServer(cfg);
            // A reload reads the file again under the same environment and flags, which keep precedence.
            server.reloader().source(() -> ConfigLoader.load(Optional.ofNullable(config), env, flags))
                    .live(LiveKeys::logLevel, next -> LogSetup.level(next.log().level()));
        } catch (ConfigException e) {
            System.err.println("pgrelay: invalid configuration");
            e.problems().forEach(p -> System.err.println("  - " + p));
            return PgRelayCli.EXIT_CONFIG;
        }
        CountDownLatch stopRequested = new CountDownLatch(1);
        // SHUTDOWN on the admin console stops the process the same way.
        server.onShutdownRequest(stopRequested::countDown);
        try {
            server.start();
        } catch (AdminBindException e) {
            log.error("{}", e.getMessage());
            server.shutdown(java.time.Duration.ZERO);
            return PgRelayCli.EXIT_FAILURE;
        } catch (Exception e) {
            log.error("cannot listen on {}: {}", cfg.listen(), e.toString());
            server.shutdown(java.time.Duration.ZERO);
            return PgRelayCli.EXIT_FAILURE;
        }
        // SIGTERM/SIGINT are caught rather than left to the JVM's shutdown, so that the drain runs
        // here and the process exits 0 after a graceful stop (a JVM shutdown exits 143).
        for (String name : new String[] {"TERM", "INT"}) {
            Signal.handle(new Signal(name), signal -> stopRequested.countDown());
        }
        // The Reloader logs the outcome; the signal thread only hands the work over.
        Signal.handle(new Signal("HUP"), signal -> server.reloader().reloadAsync());
        stopRequested.await();
        log.info("shutdown requested: draining for up to {}ms", cfg.shutdownTimeout().toMillis());
        server.shutdown(cfg.shutdownTimeout());
        return 0;
    }

    /** Flag values under the configuration keys they override. */
    Map<String, String> overrides() {
        Map<String, String> o = new LinkedHashMap<>();
        if (listen != null) {
            o.put("listen", listen);
        }
        if (primary != null) {
            o.put("primary", primary);
        }
        if (replicas != null && !replicas.isEmpty()) {
            o.put("replicas", String.join(",", replicas));
        }
        if (consistency != null) {
            o.put("routing.consistency", consistency);
        }
        if (poolMode != null) {
            o.put("pool.mode", poolMode);
        }
        if (poolSize != null) {
            o.put("pool.size", poolSize.toString());
        }
        if (adminListen != null) {
            o.put("admin.listen", adminListen);
        }
        if (logFormat != null) {
            o.put("log.format", logFormat);
        }
        if (logLevel != null) {
            o.put("log.level", logLevel);
        }
        if (failoverGracePeriod != null) {
            o.put("failover.grace_period", failoverGracePeriod);
        }
        if (failoverWaitTimeout != null) {
            o.put("failover.wait_timeout", failoverWaitTimeout);
        }
        return o;
    }
}
