package io.pgrelay.conf;

/**
 * One PostgreSQL server behind pgrelay.
 *
 * @param name     unique name used in logs, metrics and admin commands
 * @param host     host name or address
 * @param port     TCP port
 * @param role     configured role
 * @param weight   relative share of replica reads (ignored for the primary)
 * @param priority preference as a failover candidate among standbys with the same WAL position:
 *                 higher wins; 0 means never promote this node automatically
 */
public record NodeConfig(String name, String host, int port, NodeRole role, int weight, int priority) {
    /** The priority of a node that does not set one. */
    public static final int DEFAULT_PRIORITY = 100;

    /** A node with the default failover priority. */
    public NodeConfig(String name, String host, int port, NodeRole role, int weight) {
        this(name, host, port, role, weight, DEFAULT_PRIORITY);
    }

    public HostPort address() {
        return new HostPort(host, port);
    }
}
