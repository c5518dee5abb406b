package io.pgrelay.pool;

import io.netty.channel.EventLoop;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * All pools of the process. Pools are per event loop, so a client's lease never crosses threads;
 * the size limit applies to each event loop's pool, the database and user caps to all pools.
 */
public final class Pools {
    private final Function<PoolKey, PoolSettings> settings;
    private final ServerConnector connector;
    private final ConnectionCaps caps;
    private final Map<EventLoop, Map<PoolKey, Pool>> byLoop = new ConcurrentHashMap<>();
    private final Set<String> pausedDatabases = ConcurrentHashMap.newKeySet();
    private volatile boolean allPaused;

    /** Pools that all share {@code settings}, with no database or user caps. */
    public Pools(PoolSettings settings, ServerConnector connector) {
        this(key -> settings, connector, ConnectionCaps.NONE);
    }

    /**
     * @param settings the settings of the pool for a key (mode and size may differ by database and user)
     * @param caps     the per-database and per-user caps over all pools
     */
    public Pools(Function<PoolKey, PoolSettings> settings, ServerConnector connector, ConnectionCaps caps) {
        this.settings = settings;
        this.connector = connector;
        this.caps = caps;
        caps.onRelease(this::retryWaiting);
    }

    /** The pool for {@code key} on {@code loop}; call on that loop. */
    public Pool pool(EventLoop loop, PoolKey key) {
        return byLoop.computeIfAbsent(loop, l -> new ConcurrentHashMap<>())
                .computeIfAbsent(key, k -> {
                    Pool pool = new Pool(k, loop, settings.apply(k), connector, caps);
                    if (paused(k.database())) {
                        pool.pause();
                    }
                    return pool;
                });
    }

    /** Gives every existing pool the settings its key has now, as after a reload. */
    public void refreshSettings() {
        for (Pool pool : all()) {
            pool.update(settings.apply(pool.key()));
        }
    }

    /** A snapshot of every pool, for shutdown and the admin views. */
    public List<Pool> all() {
        List<Pool> pools = new ArrayList<>();
        byLoop.values().forEach(m -> pools.addAll(m.values()));
        return pools;
    }

    /** Closes the idle connections of every pool, each on its own loop. */
    public void closeIdle() {
        for (Pool pool : all()) {
            pool.loop().execute(pool::closeIdle);
        }
    }

    /** A connection of {@code released}'s database and user closed: pools capped with it may open one now. */
    private void retryWaiting(PoolKey released) {
        for (Pool pool : all()) {
            PoolKey k = pool.key();
            if (pool.waiting() > 0 && !k.equals(released)
                    && (k.database().equals(released.database()) || k.user().equals(released.user()))) {
                pool.loop().execute(pool::serveWaiters);
            }
        }
    }

    /**
     * Pauses the pools of {@code database}, or of every database when it is null, including
     * pools created later, until {@link #resume}: see {@link Pool#pause()}.
     */
    public void pause(String database) {
        if (database == null) {
            allPaused = true;
        } else {
            pausedDatabases.add(database);
        }
        for (Pool pool : all()) {
            if (database == null || pool.key().database().equals(database)) {
                pool.pause();
            }
        }
    }

    /**
     * Resumes {@code database}, or everything when it is null. A database stays paused while a
     * pause of all databases is in force.
     */
    public void resume(String database) {
        if (database == null) {
            allPaused = false;
            pausedDatabases.clear();
        } else {
            pausedDatabases.remove(database);
        }
        for (Pool pool : all()) {
            if (pool.paused() && !paused(pool.key().database())) {
                pool.resume();
            }
        }
    }

    /** True while new leases for {@code database} wait for a resume. */
    public boolean paused(String database) {
        return allPaused || pausedDatabases.contains(database);
    }
}
