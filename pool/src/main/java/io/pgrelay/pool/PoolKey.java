package io.pgrelay.pool;

/** Identifies one pool: server connections to one node, for one database and user. */
public record PoolKey(ServerAddress node, String database, String user) {
    @Override
    public String toString() {
        return database + "/" + user + "@" + node.nodeName();
    }
}
