package io.pgrelay.cli.demo;

import io.pgrelay.conf.ConfigException;
import io.pgrelay.conf.ConfigLoader;
import io.pgrelay.conf.PgRelayConfig;
import io.pgrelay.router.FailoverTopologyView;
import io.pgrelay.server.PgRelayServer;
import io.pgrelay.server.http.AdminBindException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/**
 * {@code pgrelay demo}: a throwaway primary and streaming replica from the local PostgreSQL
 * binaries with pgrelay in front (transaction pooling, read/write splitting with read-your-writes),
 * and a printed guide to try it; everything is stopped and deleted on Ctrl-C, SIGTERM or after
 * {@code --duration}.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = "Start a throwaway PostgreSQL primary and streaming replica from the local binaries, "
                + "pgrelay in front of them, and print how to try routing and failover. Ctrl-C stops and "
                + "deletes everything.")
public final class DemoCommand implements Callable<Integer> {
    private static final Duration ROUTING_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration SHUTDOWN_TIMEOUT = Duration.ofSeconds(2);

    @Option(names = "--port", paramLabel = "PORT", defaultValue = "0",
            description = "pgrelay's port on 127.0.0.1 (default: a free one)")
    int port;

    @Option(names = "--duration", paramLabel = "DURATION", converter = DurationConverter.class,
            description = "stop and clean up after this long (30s, 5m, 1h; default: run until Ctrl-C)")
    Duration duration;

    @Option(names = "--pg-bin", paramLabel = "DIR",
            description = "directory of initdb, pg_ctl, postgres and pg_basebackup (default: the newest "
                    + "/usr/lib/postgresql/*/bin)")
    Path pgBin;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws InterruptedException {
        if (port < 0 || port > 65535) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--port " + port + " is out of range (0 to 65535)");
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        CountDownLatch stop = new CountDownLatch(1);
        try {
            PgTools tools = new PgTools(pgBin != null ? PgTools.checkBinDir(pgBin)
                    : PgTools.newestBinDir(PgTools.DEBIAN_BASE), PgTools.runningAsRoot());
            tools.requireOsUser();
            // Caught before anything starts, so that a Ctrl-C during setup still cleans up and a stop exits 0.
            for (String name : new String[] {"TERM", "INT"}) {
                Signal.handle(new Signal(name), signal -> stop.countDown());
            }
            out.println("Starting a PostgreSQL primary and streaming replica from " + tools.binDir() + " ...");
            out.flush();
            try (DemoCluster cluster = DemoCluster.start(tools, () -> stop.getCount() == 0)) {
                run(cluster, out, stop);
            }
        } catch (DemoException e) {
            err.println("pgrelay demo: " + e.getMessage());
            err.flush();
            return stop.getCount() == 0 ? 0 : 1;
        }
        out.println("pgrelay demo: stopped; servers stopped and their directory deleted");
        out.flush();
        return 0;
    }

    private void run(DemoCluster cluster, PrintWriter out, CountDownLatch stop) throws InterruptedException {
        PgRelayServer server = startRelay(cluster);
        try {
            awaitReplicaRouting(server, stop);
            out.print(guide(cluster, server.localAddress().getPort(), server.adminAddress().getPort()));
            out.flush();
            if (duration == null) {
                stop.await();
            } else {
                stop.await(duration.toMillis(), TimeUnit.MILLISECONDS);
            }
            out.println("pgrelay demo: stopping");
            out.flush();
        } finally {
            server.shutdown(SHUTDOWN_TIMEOUT);
        }
    }

    private PgRelayServer startRelay(DemoCluster cluster) throws InterruptedException {
        Map<String, String> settings = Map.of(
                "listen", DemoCluster.HOST + ":" + port,
                "admin.listen", DemoCluster.HOST + ":0",
                "primary", DemoCluster.HOST + ":" + cluster.primary().port(),
                "replicas", DemoCluster.HOST + ":" + cluster.replica().port(),
                "pool.mode", "transaction",
                "routing.consistency", "session");
        PgRelayServer server;
        try {
            // No file and no environment: the demo runs the same everywhere.
            PgRelayConfig config = ConfigLoader.load(Optional.empty(), Map.of(), settings);
            server = new PgRelayServer(config);
        } catch (ConfigException e) {
            throw new DemoException("invalid demo configuration: " + String.join("; ", e.problems()), e);
        }
        try {
            server.start();
            return server;
        } catch (AdminBindException e) {
            server.shutdown(Duration.ZERO);
            throw new DemoException(e.getMessage(), e);
        } catch (Exception e) {
            server.shutdown(Duration.ZERO);
            throw new DemoException("cannot listen on " + DemoCluster.HOST + ":" + port + ": " + e, e);
        }
    }

    /**
     * Waits until the monitor has seen the replica as a standby and sampled its position: before
     * that the router sends reads to the primary, and the guide's first query would not show a split.
     */
    private static void awaitReplicaRouting(PgRelayServer server, CountDownLatch stop) throws InterruptedException {
        long deadline = System.nanoTime() + ROUTING_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            FailoverTopologyView view = FailoverTopologyView.of(server.topology().current(), Instant.now(),
                    System.nanoTime());
            if (view.primaryLsn() > 0 && view.replicas().stream().anyMatch(FailoverTopologyView.RoutedNode::healthy)) {
                return;
            }
            if (stop.await(50, TimeUnit.MILLISECONDS)) {
                throw new DemoException("stopped by a signal during setup");
            }
        }
        throw new DemoException("pgrelay did not see the replica as a healthy standby within "
                + ROUTING_TIMEOUT.toSeconds() + "s: " + server.topology().current().nodes());
    }

    /** What to type to see pgrelay work, with this run's ports and paths. */
    static String guide(DemoCluster cluster, int relayPort, int adminPort) {
        int p = cluster.primary().port();
        int r = cluster.replica().port();
        return """

                pgrelay demo is running; Ctrl-C stops it and deletes everything.

                  primary  %1$s:%2$d  %4$s
                  replica  %1$s:%3$d  %5$s (streaming from the primary)
                  pgrelay  %1$s:%6$d  transaction pooling, reads on the replica, read-your-writes

                Connect:
                  psql "host=%1$s port=%6$d dbname=postgres user=%8$s"

                Try:
                  SELECT inet_server_port();                                     -- %3$d: reads go to the replica
                  CREATE TABLE demo(id int PRIMARY KEY, note text);             -- runs on the primary
                  INSERT INTO demo VALUES (1, 'hello') RETURNING inet_server_port();  -- %2$d: writes go to the primary
                  SELECT * FROM demo;                                            -- your row at once (read-your-writes)
                  BEGIN; SELECT inet_server_port(); COMMIT;                      -- %2$d: transactions stay on the primary
                  BEGIN READ ONLY; SELECT inet_server_port(); COMMIT;            -- %3$d: read-only ones run on the replica
                  SHOW pgrelay.last_write_lsn;                                   -- where your last write ended in the WAL

                Watch the nodes (another terminal):
                  pgrelay nodes --admin http://%1$s:%7$d

                See a failover: stop the primary; after failover.grace_period (10s) pgrelay promotes the replica
                and sends writes to port %3$d:
                  %9$s

                """.formatted(DemoCluster.HOST, p, r, cluster.primary().dataDir(), cluster.replica().dataDir(),
                relayPort, adminPort, DemoCluster.SUPERUSER, cluster.stopPrimaryCommand());
    }

    /** {@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h}, or a bare number of seconds. */
    static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
        private static final Pattern FORMAT = Pattern.compile("(\\d{1,9})(ms|s|m|h)?");

        @Override
        public Duration convert(String value) {
            Matcher m = FORMAT.matcher(value.strip());
            if (!m.matches()) {
                throw new CommandLine.TypeConversionException("'" + value
                        + "' is not a duration; use a number with unit ms, s, m or h (30s, 5m)");
            }
            long n = Long.parseLong(m.group(1));
            String unit = m.group(2) == null ? "s" : m.group(2);
            return switch (unit) {
                case "ms" -> Duration.ofMillis(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofSeconds(n);
            };
        }
    }
}
