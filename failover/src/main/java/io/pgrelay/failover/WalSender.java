package io.pgrelay.failover;

/**
 * One row of the primary's {@code pg_stat_replication}: a standby streaming from it.
 *
 * @param applicationName the standby's {@code application_name}
 * @param clientAddr      its address, empty for a unix socket
 * @param state           {@code streaming}, {@code catchup}, ...
 * @param syncState       {@code async}, {@code sync}, {@code potential} or {@code quorum}
 * @param replayLsn       what the standby reports as replayed, {@link Lsn#UNKNOWN} if not yet
 * @see <a href="https://www.postgresql.org/docs/15/monitoring-stats.html#MONITORING-PG-STAT-REPLICATION-VIEW">PostgreSQL: pg_stat_replication</a>
 */
public record WalSender(String applicationName, String clientAddr, String state, String syncState, long replayLsn) {
}
