package io.pgrelay.pool;

import java.time.Duration;

/**
 * Limits and behaviour shared by the pools of one pgrelay process.
 *
 * @param size                        most server connections per pool (per event loop)
 * @param resetQuery                  run before a server connection serves another client in
 *                                    session pooling, and after a pinned client in transaction
 *                                    pooling; empty for none
 * @param connectTimeout              connect plus authenticate
 * @param waitTimeout                 how long a lease may wait for a free connection
 * @param maxMessageSize              largest message accepted from a server
 * @param transactionPooling          true when clients share server connections transaction by
 *                                    transaction: any idle connection serves any client, and the
 *                                    session layer brings it to the client's settings
 * @param preparedStatementsPerServer most prepared statements pgrelay keeps on one server
 *                                    connection before it closes the least recently used
 * @param minSize                     connections kept open even when idle
 * @param reserveSize                 connections beyond {@code size} for clients that waited
 *                                    {@code reserveTimeout}
 * @param reserveTimeout              wait after which the reserve may serve a client
 * @param idleTimeout                 an idle connection unused this long is closed (beyond minSize)
 * @param lifetime                    a connection older than about this is closed when idle
 * @param checkDelay                  an idle connection unused this long is checked before use
 */
public record PoolSettings(int size, String resetQuery, Duration connectTimeout, Duration waitTimeout, int maxMessageSize,
                           boolean transactionPooling, int preparedStatementsPerServer, int minSize, int reserveSize,
                           Duration reserveTimeout, Duration idleTimeout, Duration lifetime, Duration checkDelay) {
    /** Settings with the pool lifecycle at its defaults (no warm or reserve connections, 10min idle, 1h lifetime, 30s check). */
    public static PoolSettings of(int size, String resetQuery, Duration connectTimeout, Duration waitTimeout,
                                  int maxMessageSize, boolean transactionPooling, int preparedStatementsPerServer) {
        return new PoolSettings(size, resetQuery, connectTimeout, waitTimeout, maxMessageSize, transactionPooling,
                preparedStatementsPerServer, 0, 0, Duration.ofSeconds(5), Duration.ofMinutes(10), Duration.ofHours(1),
                Duration.ofSeconds(30));
    }
}
