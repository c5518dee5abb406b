package io.pgrelay.pool;

import io.netty.channel.EventLoop;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * All pools of the process. Pools are per event loop, so a client's lease never crosses threads;
 * the size limit applies to each event loop's pool.
 */
public final class Pools {
    private final PoolSettings settings;
    private final ServerConnector connector;
    private final Map<EventLoop, Map<PoolKey, Pool>> byLoop = new ConcurrentHashMap<>();

    public Pools(PoolSettings settings, ServerConnector connector) {
        this.settings = settings;
        this.connector = connector;
    }

    /** The pool for {@code key} on {@code loop}; call on that loop. */
    public Pool pool(EventLoop loop, PoolKey key) {
        return byLoop.computeIfAbsent(loop, l -> new ConcurrentHashMap<>())
                .computeIfAbsent(key, k -> new Pool(k, loop, settings, connector));
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
}
