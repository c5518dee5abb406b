package io.pgrelay.conf;

import java.time.Duration;

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
 */
public record PoolConfig(
        PoolMode mode,
        int size,
        String serverResetQuery,
        Duration serverConnectTimeout,
        Duration queryWaitTimeout,
        int maxPreparedStatements) {
}
