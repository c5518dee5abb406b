package io.pgrelay.conf;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Read/write splitting in transaction pooling (session pooling runs everything on the primary).
 *
 * @param consistency           how fresh a client's replica reads must be, unless its database or user says
 *                              otherwise
 * @param maxReplicaLag         a replica whose replay trails the primary by more bytes takes no reads; 0 for no limit
 * @param maxReplicaLagTime     a replica whose replay trails by more time takes no reads; zero for no limit
 * @param onNoReplica           what a replica-safe read does when no replica is eligible
 * @param readOnlyFunctions     functions read as replica-safe whatever their volatility, as written in the file
 * @param writeFunctions        functions that send a statement to the primary whatever their volatility
 * @param functionRefreshPeriod how often function volatility is re-read from the primary's pg_proc; zero: only
 *                              at start
 * @param databaseConsistency   {@code databases[].consistency} by database name
 * @param userConsistency       {@code users[].consistency} by user name
 */
public record RoutingConfig(Consistency consistency, long maxReplicaLag, Duration maxReplicaLagTime,
                            OnNoReplica onNoReplica, List<String> readOnlyFunctions, List<String> writeFunctions,
                            Duration functionRefreshPeriod, Map<String, Consistency> databaseConsistency,
                            Map<String, Consistency> userConsistency) {
    public static final Duration DEFAULT_FUNCTION_REFRESH_PERIOD = Duration.ofMinutes(5);

    public RoutingConfig {
        readOnlyFunctions = List.copyOf(readOnlyFunctions);
        writeFunctions = List.copyOf(writeFunctions);
        databaseConsistency = Map.copyOf(databaseConsistency);
        userConsistency = Map.copyOf(userConsistency);
    }

    /** Only consistency and byte lag set; everything else at its default. */
    public RoutingConfig(Consistency consistency, long maxReplicaLag) {
        this(consistency, maxReplicaLag, Duration.ZERO, OnNoReplica.PRIMARY, List.of(), List.of(),
                DEFAULT_FUNCTION_REFRESH_PERIOD, Map.of(), Map.of());
    }

    /** The consistency of a client of {@code database} logged in as {@code user}: the user's, its database's, or the default. */
    public Consistency consistencyFor(String database, String user) {
        Consistency c = userConsistency.get(user);
        if (c == null) {
            c = databaseConsistency.get(database);
        }
        return c == null ? consistency : c;
    }

    /** {@code routing.consistency}. */
    public enum Consistency {
        /** Read-your-writes: after a client's write, a replica serves it once it has replayed that write. */
        SESSION,
        /** Any replica within {@code max_replica_lag}. */
        EVENTUAL,
        /** Everything on the primary. */
        PRIMARY
    }

    /** {@code routing.on_no_replica}. */
    public enum OnNoReplica {
        /** The read runs on the primary. */
        PRIMARY,
        /** The read fails with SQLSTATE 57P03. */
        ERROR
    }
}
