package io.pgrelay.conf;

/**
 * The credentials the failover monitor connects to every node with.
 *
 * @param user     role name; needs pg_monitor, EXECUTE on pg_promote and ALTER SYSTEM rights for
 *                 failover (see docs/failover.md)
 * @param password its password, empty for none (trust, peer)
 * @param database database to connect to
 */
public record MonitorConfig(String user, String password, String database) {
    /** Leaves the password out, so the config can be logged. */
    @Override
    public String toString() {
        return "MonitorConfig[user=" + user + ", password=" + (password.isEmpty() ? "" : "***") + ", database="
                + database + "]";
    }
}
