package io.pgrelay.server.session;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/** Process-wide counters the pools do not keep: successful logins per (database, user), failed logins. */
public final class RelayStats {
    /** A database and user, the key of the counters. */
    public record DatabaseUser(String database, String user) implements Comparable<DatabaseUser> {
        @Override
        public int compareTo(DatabaseUser o) {
            int c = database.compareTo(o.database);
            return c != 0 ? c : user.compareTo(o.user);
        }
    }

    private final Map<DatabaseUser, LongAdder> logins = new ConcurrentHashMap<>();
    private final LongAdder authFailures = new LongAdder();

    /** A client failed to authenticate (wrong password, no users-file entry, refused by auth.rules, ...). */
    public void authFailed() {
        authFailures.increment();
    }

    public long authFailures() {
        return authFailures.sum();
    }

    /** A client of {@code user} authenticated for {@code database}. */
    public void loggedIn(String database, String user) {
        logins.computeIfAbsent(new DatabaseUser(database, user), k -> new LongAdder()).increment();
    }

    /** The logins so far, sorted by database and user. */
    public Map<DatabaseUser, Long> logins() {
        Map<DatabaseUser, Long> out = new TreeMap<>();
        logins.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }
}
