package io.pgrelay.conf;

/**
 * One PostgreSQL server behind pgrelay.
 *
 * @param name   unique name used in logs, metrics and admin commands
 * @param host   host name or address
 * @param port   TCP port
 * @param role   configured role
 * @param weight relative share of replica reads (ignored for the primary)
 */
public record NodeConfig(String name, String host, int port, NodeRole role, int weight) {
    public HostPort address() {
        return new HostPort(host, port);
    }
}
