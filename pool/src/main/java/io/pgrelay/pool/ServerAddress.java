package io.pgrelay.pool;

/** A PostgreSQL node a pool connects to, by its configured name and TCP address. */
public record ServerAddress(String nodeName, String host, int port) {
    @Override
    public String toString() {
        return nodeName + "(" + (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + port + ")";
    }
}
