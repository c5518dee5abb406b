package io.pgrelay.conf;

import java.time.Duration;

/**
 * How the failover monitor checks each node.
 *
 * @param period     time between full health checks (role, timeline, replication state)
 * @param timeout    bound on connecting to a node and on each check statement
 * @param maxRetries consecutive failed checks after which a node is DOWN
 * @param lsnPeriod  time between WAL position samples on an open connection; the router's
 *                   read-your-writes decisions are only as fresh as these samples
 */
public record HealthCheckConfig(Duration period, Duration timeout, int maxRetries, Duration lsnPeriod) {
}
