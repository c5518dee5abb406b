package io.pgrelay.pool;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.ToIntFunction;

/**
 * Caps on server connections per database and per user over all pools (max_db_connections,
 * max_user_connections). A pool takes a unit before it opens a connection and gives it back
 * when the connection closes; thread-safe, since pools live on different event loops.
 */
public final class ConnectionCaps {
    /** No caps at all. */
    public static final ConnectionCaps NONE = new ConnectionCaps(db -> 0, user -> 0);

    private final ToIntFunction<String> databaseCap;
    private final ToIntFunction<String> userCap;
    private final Map<String, AtomicInteger> byDatabase = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> byUser = new ConcurrentHashMap<>();
    private volatile Consumer<PoolKey> onRelease = key -> { };

    /** @param databaseCap the cap for a database, 0 for none; {@code userCap} likewise for a user */
    public ConnectionCaps(ToIntFunction<String> databaseCap, ToIntFunction<String> userCap) {
        this.databaseCap = databaseCap;
        this.userCap = userCap;
    }

    /** Takes a unit for a new connection of {@code key}; false when its database or user is at its cap. */
    boolean tryAcquire(PoolKey key) {
        if (!take(byDatabase, key.database(), databaseCap.applyAsInt(key.database()))) {
            return false;
        }
        if (!take(byUser, key.user(), userCap.applyAsInt(key.user()))) {
            byDatabase.get(key.database()).decrementAndGet();
            return false;
        }
        return true;
    }

    /** Gives back the unit of a closed connection, and lets pools that wait for one try again. */
    void release(PoolKey key) {
        byDatabase.get(key.database()).decrementAndGet();
        byUser.get(key.user()).decrementAndGet();
        onRelease.accept(key);
    }

    void onRelease(Consumer<PoolKey> action) {
        onRelease = action;
    }

    private static boolean take(Map<String, AtomicInteger> counts, String name, int cap) {
        AtomicInteger n = counts.computeIfAbsent(name, k -> new AtomicInteger());
        while (true) {
            int now = n.get();
            if (cap > 0 && now >= cap) {
                return false;
            }
            if (n.compareAndSet(now, now + 1)) {
                return true;
            }
        }
    }
}
