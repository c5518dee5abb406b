package io.pgrelay.cli.demo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * A throwaway PostgreSQL primary and streaming replica in a temp directory: initdb, pg_ctl,
 * pg_basebackup -R, trust authentication on 127.0.0.1 only. {@link #close()} stops both servers
 * (fast shutdown, then SIGKILL) and deletes the directory; a failure midway cleans up the same way.
 *
 * @see <a href="https://www.postgresql.org/docs/current/warm-standby.html">Log-shipping standby servers</a>
 */
final class DemoCluster implements AutoCloseable {
    static final String HOST = "127.0.0.1";
    static final String SUPERUSER = "postgres";
    private static final Duration STEP_TIMEOUT = Duration.ofSeconds(120);
    private static final Duration STREAMING_TIMEOUT = Duration.ofSeconds(60);
    private static final int START_ATTEMPTS = 3;

    /** One server of the pair. */
    record Server(String name, Path dataDir, Path logFile, int port) {
    }

    private final PgTools tools;
    private final Path dir;
    private final Path commandLog;
    private final BooleanSupplier cancelled;
    private Server primary;
    private Server replica;

    private DemoCluster(PgTools tools, Path dir, BooleanSupplier cancelled) {
        this.tools = tools;
        this.dir = dir;
        this.commandLog = dir.resolve("commands.log");
        this.cancelled = cancelled;
    }

    /**
     * Creates and starts the pair and waits until the replica streams.
     *
     * @param cancelled checked between steps, so that a Ctrl-C during setup stops early
     */
    static DemoCluster start(PgTools tools, BooleanSupplier cancelled) {
        Path dir;
        try {
            dir = Files.createTempDirectory("pgrelay-demo-");
        } catch (IOException e) {
            throw new DemoException("cannot create a temp directory: " + e.getMessage(), e);
        }
        DemoCluster cluster = new DemoCluster(tools, dir, cancelled);
        try {
            cluster.setUp();
            return cluster;
        } catch (RuntimeException e) {
            try {
                cluster.close();
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    Path dir() {
        return dir;
    }

    Server primary() {
        return primary;
    }

    Server replica() {
        return replica;
    }

    /** The command that stops the primary at once, as a user would type it, to watch a failover. */
    String stopPrimaryCommand() {
        return String.join(" ", tools.command("pg_ctl", "stop", "-D", primary.dataDir().toString(), "-m", "immediate"));
    }

    private void setUp() {
        tools.chownToOsUser(dir, commandLog);
        Path primaryData = dir.resolve("primary");
        tools.check(commandLog, STEP_TIMEOUT, "initdb", "initdb", "-D", primaryData.toString(), "-U", SUPERUSER,
                "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync");
        // Appending keeps the file's owner. No unix socket: the servers are reached over loopback TCP only.
        // fsync off because the data is thrown away; the replica copies these lines with the data directory.
        appendTo(primaryData.resolve("postgresql.conf"), """

                # pgrelay demo
                listen_addresses = '%s'
                unix_socket_directories = ''
                fsync = off
                """.formatted(HOST));
        primary = startOnFreePort("primary", primaryData);
        checkCancelled();
        Path replicaData = dir.resolve("replica");
        tools.check(commandLog, STEP_TIMEOUT, "pg_basebackup of the replica", "pg_basebackup",
                "-D", replicaData.toString(), "-h", HOST, "-p", Integer.toString(primary.port()), "-U", SUPERUSER,
                "-X", "stream", "-R", "-C", "-S", "demo_replica", "--checkpoint=fast", "--no-sync", "-w");
        checkCancelled();
        replica = startOnFreePort("replica", replicaData);
        awaitStreaming();
    }

    /**
     * Starts a server on a port that was free a moment ago; another process may take it in
     * between, so a start that fails is retried on another port, a bounded number of times.
     */
    private Server startOnFreePort(String name, Path dataDir) {
        Path logFile = dir.resolve(name + ".log");
        for (int attempt = 1; ; attempt++) {
            int port = freePort();
            int exit = tools.run(commandLog, STEP_TIMEOUT, "pg_ctl", "start", "-D", dataDir.toString(),
                    "-l", logFile.toString(), "-o", "-p " + port + " -c cluster_name=pgrelay-demo-" + name,
                    "-w", "-t", "60");
            if (exit == 0) {
                return new Server(name, dataDir, logFile, port);
            }
            stop(new Server(name, dataDir, logFile, port));
            if (attempt == START_ATTEMPTS) {
                throw new DemoException("pg_ctl start of the " + name + " failed (exit " + exit + ")\n"
                        + PgTools.tail(logFile, 20));
            }
            checkCancelled();
        }
    }

    /** Polls pg_stat_replication on the primary until the replica streams. */
    private void awaitStreaming() {
        Properties props = new Properties();
        props.setProperty("user", SUPERUSER);
        props.setProperty("connectTimeout", "5");
        props.setProperty("socketTimeout", "10");
        String url = "jdbc:postgresql://" + HOST + ":" + primary.port() + "/postgres";
        long deadline = System.nanoTime() + STREAMING_TIMEOUT.toNanos();
        try (Connection c = DriverManager.getConnection(url, props); Statement s = c.createStatement()) {
            while (System.nanoTime() < deadline) {
                checkCancelled();
                try (ResultSet rs = s.executeQuery(
                        "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")) {
                    if (rs.next() && rs.getInt(1) > 0) {
                        return;
                    }
                }
                Thread.sleep(100);
            }
        } catch (SQLException e) {
            throw new DemoException("cannot check replication on the primary at " + url + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DemoException("interrupted while waiting for the replica to stream", e);
        }
        throw new DemoException("the replica did not stream within " + STREAMING_TIMEOUT.toSeconds() + "s\n"
                + PgTools.tail(replica.logFile(), 20));
    }

    private void checkCancelled() {
        if (cancelled.getAsBoolean()) {
            throw new DemoException("stopped by a signal during setup");
        }
    }

    /**
     * Stops the replica, then the primary, ends any process still running from the directory,
     * and deletes it.
     *
     * @throws DemoException when a process survives SIGKILL or the directory cannot be deleted
     */
    @Override
    public void close() {
        List<String> problems = new ArrayList<>();
        for (Server s : new Server[] {replica, primary}) {
            if (s != null) {
                stop(s);
            }
        }
        // Whatever a failed step left behind: only the postmaster's command line names its data directory.
        // With the separator, so that /tmp/pgrelay-demo-12 never matches another demo's /tmp/pgrelay-demo-123.
        String under = dir + "/";
        List<ProcessHandle> left = ProcessHandle.allProcesses()
                .filter(h -> h.info().commandLine().orElse("").contains(under))
                .toList();
        left.forEach(DemoCluster::killTree);
        for (ProcessHandle h : left) {
            if (!awaitGone(h.pid(), Duration.ofSeconds(10))) {
                problems.add("process " + h.pid() + " survives SIGKILL");
            }
        }
        try {
            deleteTree(dir);
        } catch (IOException | UncheckedIOException e) {
            problems.add("cannot delete " + dir + ": " + e.getMessage());
        }
        if (!problems.isEmpty()) {
            throw new DemoException("cleanup incomplete: " + String.join("; ", problems));
        }
    }

    /** Fast shutdown with pg_ctl; SIGKILL to the postmaster and its children if it is still there after. */
    private void stop(Server s) {
        Optional<Long> pid = PgTools.postmasterPid(s.dataDir());
        if (pid.isEmpty() || !running(pid.get())) {
            return;
        }
        try {
            tools.run(commandLog, Duration.ofSeconds(45), "pg_ctl", "stop", "-D", s.dataDir().toString(),
                    "-m", "fast", "-w", "-t", "30");
        } catch (DemoException e) {
            // Timed out or could not run: SIGKILL below does the job.
        }
        if (running(pid.get())) {
            ProcessHandle.of(pid.get()).ifPresent(DemoCluster::killTree);
            awaitGone(pid.get(), Duration.ofSeconds(10));
        }
    }

    private static void killTree(ProcessHandle h) {
        h.descendants().forEach(ProcessHandle::destroyForcibly);
        h.destroyForcibly();
    }

    private static boolean awaitGone(long pid, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (running(pid)) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return !running(pid);
            }
        }
        return true;
    }

    /**
     * True while {@code pid} runs. A zombie does not count: the postmaster is reparented to init
     * by pg_ctl, and where init does not reap, an exited postmaster stays a zombie.
     */
    private static boolean running(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            int close = stat.lastIndexOf(')');
            return close > 0 && close + 2 < stat.length() && stat.charAt(close + 2) != 'Z';
        } catch (IOException e) {
            return false;
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static void appendTo(Path file, String text) {
        try {
            Files.writeString(file, text, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new DemoException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** A loopback port nobody listened on a moment ago. */
    static int freePort() {
        try (ServerSocket s = new ServerSocket()) {
            s.bind(new InetSocketAddress(InetAddress.getByName(HOST), 0));
            return s.getLocalPort();
        } catch (IOException e) {
            throw new DemoException("cannot find a free port on " + HOST + ": " + e.getMessage(), e);
        }
    }
}
