package io.pgrelay.server.session;

import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The names pgrelay gives prepared statements on servers in transaction pooling: one name per
 * distinct statement (query text and parameter types) for the whole process, so that clients
 * preparing the same statement share it on every server connection, and a name means the same
 * statement on every server.
 */
public final class ServerStatementNames {
    /** Prefix of pgrelay's names; clients naming their own statements like this are not expected. */
    static final String PREFIX = "pgrelay_";

    private final ConcurrentHashMap<Body, String> names = new ConcurrentHashMap<>();
    private final AtomicLong next = new AtomicLong();

    /** The server-side name for the Parse body (query, parameter count and types). */
    String nameFor(byte[] body) {
        return names.computeIfAbsent(new Body(body), b -> PREFIX + next.incrementAndGet());
    }

    /** How many distinct statements have been named. */
    public int size() {
        return names.size();
    }

    /** A Parse body compared by content. */
    private static final class Body {
        private final byte[] bytes;
        private final int hash;

        Body(byte[] bytes) {
            this.bytes = bytes;
            this.hash = Arrays.hashCode(bytes);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Body b && b.hash == hash && Arrays.equals(b.bytes, bytes);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }
}
