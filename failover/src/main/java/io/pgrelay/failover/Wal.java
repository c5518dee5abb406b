package io.pgrelay.failover;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * A node's replication position as last sampled. LSNs are byte offsets ({@link Lsn}); on a
 * primary only {@link #currentLsn} and {@link #senders} are set, on a standby the receive and
 * replay fields and the lag.
 *
 * @param timeline        timeline the node writes (primary) or receives (standby); 0 unknown
 * @param currentLsn      {@code pg_current_wal_lsn()} on a primary
 * @param receiveLsn      {@code pg_last_wal_receive_lsn()} on a standby
 * @param replayLsn       {@code pg_last_wal_replay_lsn()} on a standby
 * @param lagBytes        how far replay trails the primary's last sampled LSN
 * @param lagTime         how long ago the last replayed transaction committed, 0 when replay has
 *                        caught up with what was received
 * @param senders         the primary's {@code pg_stat_replication}
 * @param sampledAt       when the query that read these values started (they are at least that
 *                        recent); {@link Instant#EPOCH} never
 * @see <a href="https://www.postgresql.org/docs/15/functions-admin.html#FUNCTIONS-RECOVERY-INFO-TABLE">PostgreSQL: recovery information functions</a>
 */
public record Wal(long timeline, long currentLsn, long receiveLsn, long replayLsn, long lagBytes, Duration lagTime,
                  List<WalSender> senders, Instant sampledAt) {
    /** Nothing sampled yet. */
    public static final Wal UNKNOWN = new Wal(0, 0, 0, 0, 0, Duration.ZERO, List.of(), Instant.EPOCH);

    public Wal {
        senders = List.copyOf(senders);
    }

    /** The furthest WAL this node has: written on a primary, received (or replayed) on a standby. */
    public long position() {
        return Math.max(currentLsn, Math.max(receiveLsn, replayLsn));
    }
}
