package io.pgrelay.failover;

import io.pgrelay.conf.MonitorConfig;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.postgresql.Driver;

/**
 * The JDBC side of health checks and failover: connections with bounded waits, and the queries
 * pgrelay runs on a node.
 *
 * @see <a href="https://www.postgresql.org/docs/15/functions-admin.html">PostgreSQL: system administration functions</a>
 */
final class NodeSql {
    /** The WAL position part of a check, one round trip; also what the fast LSN sampling runs. */
    static final String SAMPLE = "SELECT pg_is_in_recovery(),"
            + " CASE WHEN pg_is_in_recovery() THEN NULL ELSE (pg_current_wal_lsn() - '0/0')::bigint END,"
            + " (pg_last_wal_receive_lsn() - '0/0')::bigint, (pg_last_wal_replay_lsn() - '0/0')::bigint,"
            + " pg_last_xact_replay_timestamp()";

    // On a primary the insert timeline is in the current WAL file's name; the checkpoint's
    // timeline lags behind a promotion until the next checkpoint. A standby's is what it receives.
    private static final String TIMELINE = "SELECT CASE WHEN pg_is_in_recovery() THEN"
            + " COALESCE((SELECT received_tli FROM pg_stat_wal_receiver), (SELECT timeline_id FROM pg_control_checkpoint()))"
            + " ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END";

    private static final String SENDERS = "SELECT application_name, COALESCE(client_addr::text, ''), state,"
            + " sync_state, (replay_lsn - '0/0')::bigint FROM pg_stat_replication ORDER BY application_name";

    private static final Driver DRIVER = new Driver();

    private NodeSql() {
    }

    /**
     * One WAL sample.
     *
     * @param inRecovery       true on a standby
     * @param replayTimestamp  commit time of the last replayed transaction, null if none
     */
    record Sample(boolean inRecovery, long currentLsn, long receiveLsn, long replayLsn, Instant replayTimestamp) {
    }

    /** Opens a connection whose connect, login, reads and statements are all bounded by {@code timeout}. */
    static Connection connect(String host, int port, MonitorConfig monitor, Duration timeout) throws SQLException {
        Properties props = new Properties();
        props.setProperty("user", monitor.user());
        if (!monitor.password().isEmpty()) {
            props.setProperty("password", monitor.password());
        }
        // The driver counts these in whole seconds.
        String seconds = Long.toString(Math.max(1, (timeout.toMillis() + 999) / 1000));
        props.setProperty("connectTimeout", seconds);
        props.setProperty("loginTimeout", seconds);
        props.setProperty("socketTimeout", Long.toString(Long.parseLong(seconds) + 1));
        props.setProperty("options", "-c statement_timeout=" + timeout.toMillis() + " -c lock_timeout="
                + timeout.toMillis());
        props.setProperty("ApplicationName", "pgrelay-monitor");
        props.setProperty("tcpKeepAlive", "true");
        String url = "jdbc:postgresql://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port + "/"
                + java.net.URLEncoder.encode(monitor.database(), java.nio.charset.StandardCharsets.UTF_8);
        Connection c = DRIVER.connect(url, props);
        c.setAutoCommit(true);
        return c;
    }

    static Sample sample(PreparedStatement sample) throws SQLException {
        try (ResultSet rs = sample.executeQuery()) {
            rs.next();
            OffsetDateTime ts = rs.getObject(5, OffsetDateTime.class);
            return new Sample(rs.getBoolean(1), rs.getLong(2), rs.getLong(3), rs.getLong(4),
                    ts == null ? null : ts.toInstant());
        }
    }

    static long timeline(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(TIMELINE)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static List<WalSender> senders(Connection c) throws SQLException {
        List<WalSender> senders = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(SENDERS)) {
            while (rs.next()) {
                senders.add(new WalSender(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                        rs.getLong(5)));
            }
        }
        return senders;
    }

    static String show(Connection c, String setting) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT current_setting(?)")) {
            ps.setString(1, setting);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getString(1);
            }
        }
    }

    static void execute(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    /** A SQL string literal; {@code standard_conforming_strings} is on in every supported version. */
    static String literal(String value) {
        if (value.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("a SQL literal cannot hold NUL");
        }
        return "'" + value.replace("'", "''") + "'";
    }

    static String quoteIdent(String name) {
        if (name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("a SQL identifier cannot hold NUL");
        }
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    static String message(SQLException e) {
        String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return e.getSQLState() == null ? m : m + " (SQLSTATE " + e.getSQLState() + ")";
    }

    static void closeQuietly(Connection c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (SQLException e) {
            // The connection is being dropped because it failed; a second error adds nothing.
        }
    }
}
