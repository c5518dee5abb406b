package io.pgrelay.cli.demo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipalNotFoundException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The local PostgreSQL binaries and how the demo runs them: as the {@code postgres} OS user
 * through {@code runuser} when pgrelay runs as root (the server refuses to run as root),
 * directly otherwise. Every run is bounded by a timeout.
 *
 * @see <a href="https://www.postgresql.org/docs/current/app-pg-ctl.html">pg_ctl</a>
 */
final class PgTools {
    static final Path DEBIAN_BASE = Path.of("/usr/lib/postgresql");
    static final String OS_USER = "postgres";
    static final List<String> REQUIRED = List.of("initdb", "pg_ctl", "postgres", "pg_basebackup");

    private final Path binDir;
    private final boolean root;

    PgTools(Path binDir, boolean root) {
        this.binDir = binDir;
        this.root = root;
    }

    /** The newest {@code base/N/bin} that holds every {@link #REQUIRED} binary. */
    static Path newestBinDir(Path base) {
        List<Path> versions = List.of();
        if (Files.isDirectory(base)) {
            try (Stream<Path> dirs = Files.list(base)) {
                versions = dirs.filter(p -> p.getFileName().toString().matches("\\d+"))
                        .sorted(Comparator.comparingInt((Path p) -> Integer.parseInt(p.getFileName().toString()))
                                .reversed())
                        .map(p -> p.resolve("bin"))
                        .toList();
            } catch (IOException e) {
                throw new UncheckedIOException("cannot list " + base, e);
            }
        }
        return versions.stream().filter(PgTools::complete).findFirst().orElseThrow(() -> new DemoException(
                "no PostgreSQL server binaries found in " + base + "/*/bin (need " + String.join(", ", REQUIRED)
                        + "); install them with: apt-get install postgresql, or pass --pg-bin DIR"));
    }

    /** Checks a directory given with {@code --pg-bin}. */
    static Path checkBinDir(Path dir) {
        if (!complete(dir)) {
            throw new DemoException(dir + " does not hold the PostgreSQL server binaries (need "
                    + String.join(", ", REQUIRED) + "); install them with: apt-get install postgresql");
        }
        return dir;
    }

    private static boolean complete(Path dir) {
        return REQUIRED.stream().allMatch(t -> Files.isExecutable(dir.resolve(t)));
    }

    /** True when this process runs as uid 0: /proc/self belongs to the effective user. */
    static boolean runningAsRoot() {
        try {
            return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
        } catch (IOException | UnsupportedOperationException e) {
            return "root".equals(System.getProperty("user.name"));
        }
    }

    Path binDir() {
        return binDir;
    }

    boolean root() {
        return root;
    }

    /** As root, fails early with the fix when there is no postgres OS user to run the servers as. */
    void requireOsUser() {
        if (!root) {
            return;
        }
        try {
            Path.of("/").getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(OS_USER);
        } catch (UserPrincipalNotFoundException e) {
            throw new DemoException("pgrelay runs as root and PostgreSQL refuses to, but there is no '" + OS_USER
                    + "' OS user to run it as; the postgresql package creates one");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot look up the OS user " + OS_USER, e);
        }
    }

    /** The command line that runs {@code tool} as the server's user, as a shell would show it. */
    List<String> command(String tool, String... args) {
        List<String> cmd = new ArrayList<>();
        if (root) {
            cmd.addAll(List.of("runuser", "-u", OS_USER, "--"));
        }
        cmd.add(binDir.resolve(tool).toString());
        cmd.addAll(List.of(args));
        return cmd;
    }

    /**
     * Runs {@code tool}, its output appended to {@code log}: a file rather than a pipe, because
     * the postmaster that pg_ctl starts inherits the output and would hold a pipe open.
     *
     * @return the exit code
     */
    int run(Path log, Duration timeout, String tool, String... args) {
        return exec(log, timeout, command(tool, args));
    }

    /** Runs {@code tool} and throws with the tail of {@code log} when it fails. */
    void check(Path log, Duration timeout, String what, String tool, String... args) {
        int exit = run(log, timeout, tool, args);
        if (exit != 0) {
            throw new DemoException(what + " failed (exit " + exit + "): " + String.join(" ", command(tool, args))
                    + "\n" + tail(log, 20));
        }
    }

    /** Hands a tree this process created to the postgres OS user; nothing to do when not root. */
    void chownToOsUser(Path dir, Path log) {
        if (root && exec(log, Duration.ofSeconds(30), List.of("chown", "-R", OS_USER + ":", dir.toString())) != 0) {
            throw new DemoException("chown -R " + OS_USER + ": " + dir + " failed\n" + tail(log, 5));
        }
    }

    private static int exec(Path log, Duration timeout, List<String> command) {
        ProcessBuilder pb = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        // An inherited PGHOST, PGPORT or PGDATA must not redirect a command at another server.
        pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
        Process p = null;
        try {
            p = pb.start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                throw new DemoException(String.join(" ", command) + " did not finish within " + timeout.toSeconds()
                        + "s\n" + tail(log, 20));
            }
            return p.exitValue();
        } catch (IOException e) {
            throw new DemoException("cannot run " + command.getFirst() + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DemoException("interrupted while running " + String.join(" ", command), e);
        } finally {
            if (p != null && p.isAlive()) {
                p.destroyForcibly();
            }
        }
    }

    /** The last {@code lines} lines of a log file, for error messages. */
    static String tail(Path log, int lines) {
        try {
            List<String> all = Files.exists(log) ? Files.readAllLines(log) : List.of();
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(cannot read " + log + ": " + e.getMessage() + ")";
        }
    }

    /** The postmaster's pid from the first line of {@code data/postmaster.pid}, if the file is there. */
    static Optional<Long> postmasterPid(Path dataDir) {
        try {
            Path file = dataDir.resolve("postmaster.pid");
            if (!Files.exists(file)) {
                return Optional.empty();
            }
            return Files.readAllLines(file).stream().findFirst().map(String::strip).map(Long::parseLong);
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }
}
