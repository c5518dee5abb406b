package io.pgrelay.conf;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * Server connection pooling, applied to every (node, database, user) pool.
 *
 * @param mode                 when a server connection returns to the pool
 * @param size                 most server connections per pool
 * @param serverResetQuery     run on a server connection before another client gets it
 *                             (empty: none)
 * @param serverConnectTimeout how long connecting and authenticating to a server may take
 * @param queryWaitTimeout     how long a client waits for a server connection before an error
 * @param maxPreparedStatements in transaction pooling, most protocol-level prepared statements
 *                             pgrelay keeps on one server connection (least recently used go)
 * @param minPoolSize          server connections each pool keeps open even when idle
 * @param reservePoolSize      extra connections a pool may open beyond {@code size} for clients
 *                             that waited longer than {@code reservePoolTimeout}
 * @param reservePoolTimeout   how long a client waits before the reserve may serve it
 * @param maxClientConn        most client connections pgrelay accepts at once
 * @param serverIdleTimeout    an idle server connection (beyond minPoolSize) unused this long is closed
 * @param serverLifetime       a server connection is closed when idle after about this age (each
 *                             connection gets up to 20% less, so a pool does not recycle all at once)
 * @param serverCheckDelay     an idle connection unused this long is checked with an empty query
 *                             before a client gets it
 * @param databases            per-database settings ({@code databases} list)
 * @param users                per-user settings ({@code users} list)
 */
public record PoolConfig(
        PoolMode mode,
        int size,
        String serverResetQuery,
        Duration serverConnectTimeout,
        Duration queryWaitTimeout,
        int maxPreparedStatements,
        int minPoolSize,
        int reservePoolSize,
        Duration reservePoolTimeout,
        int maxClientConn,
        Duration serverIdleTimeout,
        Duration serverLifetime,
        Duration serverCheckDelay,
        List<PoolOverride> databases,
        List<PoolOverride> users) {
    public PoolConfig {
        databases = List.copyOf(databases);
        users = List.copyOf(users);
    }

    /** The pool mode for clients of {@code database} logged in as {@code user}. */
    public PoolMode modeFor(String database, String user) {
        return find(users, user).flatMap(PoolOverride::mode)
                .or(() -> find(databases, database).flatMap(PoolOverride::mode))
                .orElse(mode);
    }

    /** Server connections per pool for {@code database}. */
    public int sizeFor(String database) {
        return find(databases, database).map(o -> o.size().orElse(size)).orElse(size);
    }

    /** The cap on server connections to {@code database} over all pools, or 0 for none. */
    public int maxDatabaseConnections(String database) {
        return find(databases, database).map(o -> o.maxConnections().orElse(0)).orElse(0);
    }

    /** The cap on server connections as {@code user} over all pools, or 0 for none. */
    public int maxUserConnections(String user) {
        return find(users, user).map(o -> o.maxConnections().orElse(0)).orElse(0);
    }

    private static Optional<PoolOverride> find(List<PoolOverride> overrides, String name) {
        for (PoolOverride o : overrides) {
            if (o.name().equals(name)) {
                return Optional.of(o);
            }
        }
        return Optional.empty();
    }
}
