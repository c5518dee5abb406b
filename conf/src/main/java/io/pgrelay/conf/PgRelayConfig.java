package io.pgrelay.conf;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The whole validated configuration of one pgrelay process, as loaded from YAML, environment
 * ({@code PGRELAY_*}) and command-line flags, in that order of increasing precedence.
 *
 * @param listen            address clients connect to
 * @param nodes             PostgreSQL nodes; exactly one has role {@link NodeRole#PRIMARY}
 * @param auth              how clients authenticate to pgrelay
 * @param pool              server connection pooling
 * @param maxMessageSize    largest protocol message accepted from a client or server, in bytes
 * @param startupTimeout    how long a new client may take to finish startup and authentication
 * @param shutdownTimeout   how long a graceful shutdown waits for running transactions
 * @param eventLoopThreads  Netty event-loop threads; 0 picks a default for the core count
 * @param healthCheck       how nodes are checked
 * @param monitor           the credentials health checks and failover connect with
 * @param failover          automatic failover
 * @param hooks             commands run on failover and node failure
 * @param log               log level and format
 * @param admin             the HTTP admin endpoint
 * @param adminUsers        users who may log in to the admin console (database {@code pgrelay});
 *                          empty: nobody
 * @param routing           read/write splitting
 */
public record PgRelayConfig(
        HostPort listen,
        List<NodeConfig> nodes,
        AuthConfig auth,
        PoolConfig pool,
        int maxMessageSize,
        Duration startupTimeout,
        Duration shutdownTimeout,
        int eventLoopThreads,
        HealthCheckConfig healthCheck,
        MonitorConfig monitor,
        FailoverConfig failover,
        HooksConfig hooks,
        LogConfig log,
        AdminConfig admin,
        List<String> adminUsers,
        RoutingConfig routing) {

    public PgRelayConfig {
        nodes = List.copyOf(nodes);
        adminUsers = List.copyOf(adminUsers);
    }

    /** The node configured as primary. Validation guarantees there is one. */
    public NodeConfig primary() {
        return nodes.stream().filter(n -> n.role() == NodeRole.PRIMARY).findFirst().orElseThrow();
    }

    public Optional<NodeConfig> node(String name) {
        return nodes.stream().filter(n -> n.name().equals(name)).findFirst();
    }
}
