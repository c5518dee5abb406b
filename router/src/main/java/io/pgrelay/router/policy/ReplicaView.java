package io.pgrelay.router.policy;

import java.time.Duration;

/** A streaming replica as the replication monitor last sampled it. */
public interface ReplicaView extends NodeView {
    /** Relative share of reads; 0 takes none. */
    int weight();

    /** {@code pg_last_wal_replay_lsn()} as a number, or -1 when unknown. */
    long replayLsn();

    /** Primary's WAL position minus this replica's replay position, in bytes; -1 when unknown. */
    long lagBytes();

    /** Replay delay (e.g. {@code now() - pg_last_xact_replay_timestamp()}); null when unknown. */
    Duration lag();

    /** Work pgrelay has in flight on this replica (server connections leased to clients). */
    int outstanding();

    /** How often reads were sent to this replica so far (its share, for weights); counted by the caller. */
    default long timesChosen() {
        return 0;
    }

    /** Makes {@link #timesChosen()} at least {@code atLeast} (a replica back in rotation catching up). */
    default void raiseTimesChosen(long atLeast) {
    }
}
