package io.pgrelay.it.tools;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs a PostgreSQL client program (psql, pgbench) to completion with a time limit, capturing its
 * output in files so that neither pipe can fill and stall it. A run that overstays is killed,
 * with its children, and reported with what it had printed.
 */
public final class ToolRunner {
    private ToolRunner() {
    }

    /** What a finished run left behind. */
    public record Result(List<String> command, int exitCode, String stdout, String stderr, Duration took) {
        @Override
        public String toString() {
            return String.join(" ", command) + "\nexit " + exitCode + " after " + took.toMillis() + "ms\n--- stdout\n"
                    + stdout + "--- stderr\n" + stderr;
        }
    }

    /**
     * Runs {@code tool args...} with the PG* variables of this JVM removed, {@code env} added,
     * messages in English and UTF-8 as client encoding.
     */
    public static Result run(Path tool, List<String> args, Map<String, String> env, Duration timeout)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(tool.toString());
        command.addAll(args);
        Path out = Files.createTempFile("pgrelay-tool", ".out");
        Path err = Files.createTempFile("pgrelay-tool", ".err");
        try {
            ProcessBuilder pb = new ProcessBuilder(command)
                    .redirectOutput(out.toFile())
                    .redirectError(err.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
            pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
            pb.environment().put("LC_ALL", "C.UTF-8");
            pb.environment().put("PGCLIENTENCODING", "UTF8");
            pb.environment().put("PGCONNECT_TIMEOUT", "10");
            pb.environment().putAll(env);
            long start = System.nanoTime();
            Process p = pb.start();
            boolean finished;
            try {
                finished = p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } finally {
                if (p.isAlive()) {
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                    p.waitFor(10, TimeUnit.SECONDS);
                }
            }
            Result r = new Result(command, finished ? p.exitValue() : -1, read(out), read(err),
                    Duration.ofNanos(System.nanoTime() - start));
            if (!finished) {
                throw new AssertionError("killed after " + timeout.toMillis() + "ms: " + r);
            }
            return r;
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    private static String read(Path p) throws IOException {
        return Files.readString(p, StandardCharsets.UTF_8);
    }
}
