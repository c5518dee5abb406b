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
 */
public record PoolSettings(int size, String resetQuery, Duration connectTimeout, Duration waitTimeout, int maxMessageSize,
                           boolean transactionPooling, int preparedStatementsPerServer) {
}
