package io.pgrelay.it.cli;

import io.pgrelay.it.fixture.PgCluster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * The runnable {@code cli/target/pgrelay.jar} as a child process of the test JVM, run with the
 * same JDK. Captures stdout and stderr (pgrelay logs to stderr), waits for log lines with a
 * deadline, and always ends the process on {@link #close()}; a JVM shutdown hook kills it if a
 * test never gets that far.
 *
 * <p>The child gets the test JVM's environment without any {@code PGRELAY_} variable (pgrelay
 * rejects unknown ones, and the fixture's {@code PGRELAY_IT_BACKEND} is one), plus what the test
 * passes.
 */
final class RelayProcess implements AutoCloseable {
    /** Where {@code ./mvnw package} puts the jar, relative to the it-tests module (failsafe's working directory). */
    static final Path JAR = Path.of("../cli/target/pgrelay.jar");
    static final String LISTENING = "pgrelay listening on";
    private static final Duration STARTUP = Duration.ofSeconds(60);

    private final Process process;
    private final List<String> command;
    private final Output stdout;
    private final Output stderr;
    private final Thread killer;

    private RelayProcess(Process process, List<String> command) {
        this.process = process;
        this.command = command;
        this.stdout = new Output(process.getInputStream(), "stdout");
        this.stderr = new Output(process.getErrorStream(), "stderr");
        this.killer = new Thread(process::destroyForcibly, "pgrelay-it-kill-" + process.pid());
        Runtime.getRuntime().addShutdownHook(killer);
    }

    /** The jar, or an error that says how to build it. */
    static Path jar() {
        Path jar = JAR.toAbsolutePath().normalize();
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException("pgrelay.jar not found at " + jar + " (working directory "
                    + Path.of("").toAbsolutePath() + "); build it with ./mvnw -B package -DskipTests, or run the "
                    + "it-tests with ./mvnw verify, where failsafe runs after package");
        }
        return jar;
    }

    /** The java launcher of the JDK running the tests. */
    static Path java() {
        return Path.of(System.getProperty("java.home"), "bin", "java");
    }

    /** A loopback port that was free a moment ago. */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Starts {@code java [jvmOptions] -jar pgrelay.jar [args]} with {@code env} added to the environment. */
    static RelayProcess start(List<String> jvmOptions, Map<String, String> env, List<String> args) throws IOException {
        return start(jvmOptions, env, args, null);
    }

    /** As {@link #start(List, Map, List)}; {@code input}, if not null, is the whole of standard input. */
    private static RelayProcess start(List<String> jvmOptions, Map<String, String> env, List<String> args,
                                      String input) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(java().toString());
        cmd.addAll(jvmOptions);
        cmd.add("-jar");
        cmd.add(jar().toString());
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        if (input == null) {
            pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        }
        pb.environment().keySet().removeIf(k -> k.startsWith("PGRELAY_"));
        pb.environment().putAll(env);
        Process process = pb.start();
        if (input != null) {
            try (var stdin = process.getOutputStream()) {
                stdin.write(input.getBytes(StandardCharsets.UTF_8));
            }
        }
        return new RelayProcess(process, cmd);
    }

    /** Runs a command that is expected to end by itself, killing it after {@code timeout}. */
    static Result run(Duration timeout, Map<String, String> env, String... args) throws IOException, InterruptedException {
        return finish(start(List.of(), env, List.of(args)), timeout, args);
    }

    /** Runs a command that reads {@code input} from standard input and ends by itself within a minute. */
    static Result runWithInput(String input, String... args) throws IOException, InterruptedException {
        return finish(start(List.of(), Map.of(), List.of(args), input), Duration.ofSeconds(60), args);
    }

    private static Result finish(RelayProcess started, Duration timeout, String... args) throws InterruptedException {
        try (RelayProcess p = started) {
            OptionalLong exit = p.awaitExit(timeout);
            if (exit.isEmpty()) {
                throw new AssertionError("pgrelay " + String.join(" ", args) + " did not exit within " + timeout
                        + p.describe());
            }
            return new Result((int) exit.getAsLong(), p.stdout(), p.stderr());
        }
    }

    static Result run(String... args) throws IOException, InterruptedException {
        return run(Duration.ofSeconds(60), Map.of(), args);
    }

    /**
     * Starts {@code serve --listen 127.0.0.1:<free port> --admin-listen 127.0.0.1:0 [args]} and
     * waits for the listening log line. The port is picked then released, so another process may take it in between; such a
     * bind failure is retried (at most three attempts).
     */
    static RelayProcess serve(List<String> jvmOptions, Map<String, String> env, List<String> args)
            throws IOException, InterruptedException {
        AssertionError last = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            int port = freePort();
            // The admin endpoint on a port the OS picks, so that parallel runs never collide on 6433.
            List<String> all = new ArrayList<>(List.of("serve", "--listen", "127.0.0.1:" + port,
                    "--admin-listen", "127.0.0.1:0"));
            all.addAll(args);
            RelayProcess p = start(jvmOptions, env, all);
            try {
                p.awaitStderr(LISTENING, STARTUP);
                p.port = port;
                return p;
            } catch (AssertionError e) {
                p.close();
                if (!p.stderr().contains("cannot listen")) {
                    throw e;
                }
                last = e;
            }
        }
        throw last;
    }

    private int port = -1;

    /**
     * Creates role and database {@code app} on {@code pg}'s primary and a users file in {@code dir}
     * that lets {@code app} in with {@code password}; returns the file.
     */
    static Path appUsersFile(PgCluster pg, Path dir, String password) throws IOException {
        pg.createUser("app", password);
        pg.createDatabase("app", "app");
        Path users = dir.resolve("users.txt");
        Files.writeString(users, "app: " + password + "\n");
        return users;
    }

    /** A JDBC connection through this pgrelay (started by {@link #serve}) to {@code database}. */
    Connection connect(String database, String user, String password) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        p.setProperty("connectTimeout", "10");
        p.setProperty("socketTimeout", "30");
        p.setProperty("sslmode", "disable");
        p.setProperty("gssEncMode", "disable");
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + port + "/" + database, p);
    }

    /** The port given with {@code --listen} by {@link #serve}. */
    int port() {
        return port;
    }

    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    String stdout() {
        return stdout.text();
    }

    String stderr() {
        return stderr.text();
    }

    /**
     * SIGTERM, as a service manager stops pgrelay. Sent through the {@link ProcessHandle}: on Linux
     * {@link Process#destroy()} sends the same signal but also closes our ends of the child's
     * pipes, which would lose everything pgrelay logs while it shuts down.
     */
    void sigterm() {
        process.toHandle().destroy();
    }

    /** The exit code, or empty if the process is still running after {@code timeout}. */
    OptionalLong awaitExit(Duration timeout) throws InterruptedException {
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            return OptionalLong.empty();
        }
        stdout.join();
        stderr.join();
        return OptionalLong.of(process.exitValue());
    }

    /** Waits for stderr to contain {@code needle}; fails on timeout or when the process ends first. */
    void awaitStderr(String needle, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!stderr().contains(needle)) {
            if (!process.isAlive()) {
                stderr.join();
                if (stderr().contains(needle)) {
                    return;
                }
                throw new AssertionError("pgrelay exited with " + process.exitValue() + " before logging '" + needle
                        + "'" + describe());
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("pgrelay did not log '" + needle + "' within " + timeout + describe());
            }
            TimeUnit.MILLISECONDS.sleep(20);
        }
    }

    /** The command and its output so far, for failure messages. */
    String describe() {
        return "\n  command: " + String.join(" ", command) + "\n  stdout:\n" + stdout() + "\n  stderr:\n" + stderr();
    }

    /** Kills the process if it still runs and waits for it (bounded). */
    @Override
    public void close() throws InterruptedException {
        try {
            if (process.isAlive()) {
                // SIGKILL through the handle, so the readers still see the end of the output.
                process.toHandle().destroyForcibly();
            }
            if (!process.waitFor(15, TimeUnit.SECONDS)) {
                throw new IllegalStateException("pgrelay pid " + process.pid() + " survived SIGKILL for 15 s");
            }
            stdout.join();
            stderr.join();
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(killer);
            } catch (IllegalStateException shuttingDown) {
                // The JVM is exiting and the hook will run anyway.
            }
        }
    }

    /** What a finished command printed, and its exit code. */
    record Result(int exit, String stdout, String stderr) {
        @Override
        public String toString() {
            return "exit " + exit + "\n  stdout:\n" + stdout + "\n  stderr:\n" + stderr;
        }
    }

    /** Drains one output stream of the child into memory, so the child never blocks on a full pipe. */
    private static final class Output {
        private static final int LIMIT = 4 * 1024 * 1024;
        private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        private final Thread reader;

        Output(InputStream in, String name) {
            reader = Thread.ofPlatform().daemon().name("pgrelay-it-" + name).start(() -> {
                byte[] buf = new byte[8192];
                try (in) {
                    for (int n; (n = in.read(buf)) >= 0; ) {
                        synchronized (bytes) {
                            // Keep the first LIMIT bytes; a runaway log must not fill the test JVM.
                            bytes.write(buf, 0, Math.max(0, Math.min(n, LIMIT - bytes.size())));
                        }
                    }
                } catch (IOException e) {
                    synchronized (bytes) {
                        bytes.writeBytes(("\n[pgrelay-it: reading " + name + " failed: " + e + "]\n")
                                .getBytes(StandardCharsets.UTF_8));
                    }
                }
            });
        }

        String text() {
            synchronized (bytes) {
                return bytes.toString(StandardCharsets.UTF_8);
            }
        }

        void join() throws InterruptedException {
            reader.join(TimeUnit.SECONDS.toMillis(10));
        }
    }
}
