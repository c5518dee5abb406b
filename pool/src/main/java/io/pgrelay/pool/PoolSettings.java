package io.pgrelay.pool;

import java.time.Duration;

/**
 * Limits and behaviour shared by the pools of one pgrelay process.
 *
 * @param size                 most server connections per pool (per event loop)
 * @param resetQuery           run before a server connection serves another client; empty for none
 * @param connectTimeout       connect plus authenticate
 * @param waitTimeout          how long a lease may wait for a free connection
 * @param maxMessageSize       largest message accepted from a server
 */
public record PoolSettings(int size, String resetQuery, Duration connectTimeout, Duration waitTimeout, int maxMessageSize) {
}
