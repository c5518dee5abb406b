package io.pgrelay.server.reload;

import io.pgrelay.conf.ConfigException;
import io.pgrelay.conf.PgRelayConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Re-reads the configuration, refuses it whole when it is invalid, and otherwise applies the
 * changed keys that can change live, reporting every other changed key as needing a restart.
 *
 * <p>Reloads run one at a time on a thread of their own: reading the file blocks, and the admin
 * endpoint and console that ask for a reload run on event loops.
 */
public final class Reloader implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Reloader.class);
    private final ExecutorService thread = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().name("pgrelay-reload").daemon().factory());
    private final List<Handler> live = new ArrayList<>();
    private Consumer<PgRelayConfig> loaded = next -> { };
    private volatile PgRelayConfig current;
    private volatile Supplier<PgRelayConfig> source;

    /** Keys that {@code apply} puts into effect given the whole new configuration. */
    private record Handler(Predicate<String> keys, Consumer<PgRelayConfig> apply) {
    }

    public Reloader(PgRelayConfig initial) {
        this.current = initial;
    }

    /** Tells {@code action} of every configuration a reload accepts, after the live keys are applied. */
    public synchronized Reloader onLoaded(Consumer<PgRelayConfig> action) {
        this.loaded = action;
        return this;
    }

    /** The configuration in effect: the one at start, or the last one reloaded. */
    public PgRelayConfig current() {
        return current;
    }

    /**
     * Where a reload reads the configuration from; it throws {@link ConfigException} when the
     * configuration is invalid. Without a source a reload answers an error.
     */
    public Reloader source(Supplier<PgRelayConfig> configSource) {
        this.source = configSource;
        return this;
    }

    /** Adds keys that change live; call before the first reload. */
    public synchronized Reloader live(Predicate<String> keys, Consumer<PgRelayConfig> apply) {
        live.add(new Handler(keys, apply));
        return this;
    }

    /** Reloads on the reload thread. */
    public CompletableFuture<ReloadResult> reloadAsync() {
        return CompletableFuture.supplyAsync(this::reload, thread);
    }

    /** Reloads on the calling thread, which may block on reading the file. */
    public synchronized ReloadResult reload() {
        ReloadResult result = read();
        if (result.ok()) {
            log.info(result.summary());
        } else {
            log.warn(result.summary());
        }
        return result;
    }

    private ReloadResult read() {
        Supplier<PgRelayConfig> from = source;
        if (from == null) {
            return new ReloadResult(List.of(), List.of("pgrelay was started without a configuration to re-read"));
        }
        PgRelayConfig next;
        try {
            next = from.get();
        } catch (ConfigException e) {
            return new ReloadResult(List.of(), e.problems());
        }
        List<ConfigDiff.Change> changes = ConfigDiff.diff(current, next);
        List<ReloadResult.KeyChange> result = new ArrayList<>();
        List<Handler> toApply = new ArrayList<>();
        for (ConfigDiff.Change c : changes) {
            Handler handler = live.stream().filter(l -> l.keys().test(c.key())).findFirst().orElse(null);
            if (handler != null && !toApply.contains(handler)) {
                toApply.add(handler);
            }
            result.add(new ReloadResult.KeyChange(c.key(), c.oldValue(), c.newValue(),
                    handler == null ? ReloadResult.RESTART_NEEDED : ReloadResult.APPLIED));
        }
        // The new configuration becomes current before the handlers run: they read it through current().
        current = next;
        toApply.forEach(l -> l.apply().accept(next));
        loaded.accept(next);
        return new ReloadResult(result, List.of());
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }
}
