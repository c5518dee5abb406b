package io.pgrelay.failover;

import io.pgrelay.conf.HooksConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the configured hook commands through {@code /bin/sh -c}, one at a time on a thread of
 * their own, killing one that outlives {@code hooks.timeout} and logging its output.
 */
final class Hooks implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Hooks.class);
    private static final Pattern PLACEHOLDER = Pattern.compile("%\\{([a-z_]+)}");
    private static final int MAX_OUTPUT = 64 * 1024;

    private final HooksConfig config;
    private final ExecutorService executor = Executors.newSingleThreadExecutor(Monitor.threads("pgrelay-hook-"));

    Hooks(HooksConfig config) {
        this.config = config;
    }

    void onFailover(Map<String, String> values) {
        submit("on_failover", config.onFailover(), values);
    }

    void onNodeDown(Map<String, String> values) {
        submit("on_node_down", config.onNodeDown(), values);
    }

    /**
     * The command with its placeholders replaced. Values are node names, addresses, ports and
     * LSNs, which config validation keeps free of shell syntax.
     */
    static String expand(String template, Map<String, String> values) {
        Matcher m = PLACEHOLDER.matcher(template);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            m.appendReplacement(out, Matcher.quoteReplacement(values.getOrDefault(m.group(1), "")));
        }
        m.appendTail(out);
        return out.toString();
    }

    private void submit(String hook, String template, Map<String, String> values) {
        if (template.isEmpty()) {
            return;
        }
        String command = expand(template, values);
        executor.execute(() -> run(hook, command));
    }

    private void run(String hook, String command) {
        Path output = null;
        try {
            output = Files.createTempFile("pgrelay-hook-", ".out");
            Process p = new ProcessBuilder("/bin/sh", "-c", command).redirectErrorStream(true)
                    .redirectOutput(output.toFile()).start();
            boolean finished = p.waitFor(config.timeout().toMillis(), TimeUnit.MILLISECONDS);
            if (!finished) {
                p.destroyForcibly();
            }
            String text = new String(Files.readAllBytes(output), StandardCharsets.UTF_8);
            if (text.length() > MAX_OUTPUT) {
                text = text.substring(0, MAX_OUTPUT) + "... (cut)";
            }
            if (!finished) {
                log.error("hook {} `{}` killed after {} ms; output: {}", hook, command, config.timeout().toMillis(),
                        text.strip());
            } else if (p.exitValue() != 0) {
                log.error("hook {} `{}` exited with {}; output: {}", hook, command, p.exitValue(), text.strip());
            } else {
                log.info("hook {} `{}` done; output: {}", hook, command, text.strip());
            }
        } catch (IOException e) {
            log.error("hook {} `{}` could not run: {}", hook, command, e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            if (output != null) {
                try {
                    Files.deleteIfExists(output);
                } catch (IOException e) {
                    log.warn("cannot delete hook output {}: {}", output, e.toString());
                }
            }
        }
    }

    @Override
    public void close() {
        executor.shutdown();
        try {
            if (!executor.awaitTermination(config.timeout().toMillis() + 1000, TimeUnit.MILLISECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }
}
