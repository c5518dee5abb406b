package io.pgrelay.failover;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks at start that the monitor role may do what pgrelay will ask of it, and names the GRANT
 * that is missing (docs/failover.md lists them all).
 *
 * @see <a href="https://www.postgresql.org/docs/15/predefined-roles.html">PostgreSQL: predefined roles</a>
 */
final class Privileges {
    private static final Logger log = LoggerFactory.getLogger(Privileges.class);

    private static final String QUERY = "SELECT r.rolsuper, r.rolreplication,"
            + " pg_has_role(current_user, 'pg_monitor', 'MEMBER'),"
            + " pg_has_role(current_user, 'pg_read_all_settings', 'MEMBER'),"
            + " has_function_privilege('pg_promote(boolean, integer)', 'EXECUTE'),"
            + " has_function_privilege('pg_reload_conf()', 'EXECUTE'),"
            + " current_setting('server_version_num')::int"
            + " FROM pg_roles r WHERE r.rolname = current_user";

    private Privileges() {
    }

    /** The GRANTs the role lacks, each also logged as a warning. */
    static List<String> check(Connection c, String user, boolean failover) {
        List<String> missing = new ArrayList<>();
        String role = NodeSql.quoteIdent(user);
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(QUERY)) {
            if (!rs.next() || rs.getBoolean(1)) {
                return List.of();
            }
            if (!rs.getBoolean(3)) {
                missing.add("GRANT pg_monitor TO " + role + "; -- to read replication state and timelines");
            }
            if (failover) {
                if (!rs.getBoolean(5)) {
                    missing.add("GRANT EXECUTE ON FUNCTION pg_promote(boolean, integer) TO " + role
                            + "; -- to promote a standby");
                }
                if (!rs.getBoolean(4)) {
                    missing.add("GRANT pg_read_all_settings TO " + role + "; -- to read a standby's primary_conninfo");
                }
                if (!rs.getBoolean(6)) {
                    missing.add("GRANT EXECUTE ON FUNCTION pg_reload_conf() TO " + role
                            + "; -- to apply a standby's new primary_conninfo");
                }
                if (!rs.getBoolean(2)) {
                    missing.add("ALTER ROLE " + role + " REPLICATION; -- to create replication slots on a new primary");
                }
                if (rs.getInt(7) < 150000) {
                    missing.add("ALTER ROLE " + role + " SUPERUSER; -- ALTER SYSTEM needs a superuser before"
                            + " PostgreSQL 15");
                } else if (!canAlterSystem(c)) {
                    missing.add("GRANT ALTER SYSTEM ON PARAMETER primary_conninfo TO " + role
                            + "; -- to re-point standbys at a new primary");
                }
            }
        } catch (SQLException e) {
            log.warn("cannot check the privileges of monitor role {}: {}", user, NodeSql.message(e));
            return List.of();
        }
        missing.forEach(m -> log.warn("monitor role {} lacks a privilege; run on the primary: {}", user, m));
        return List.copyOf(missing);
    }

    private static boolean canAlterSystem(Connection c) throws SQLException {
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT has_parameter_privilege('primary_conninfo', 'ALTER SYSTEM')")) {
            return rs.next() && rs.getBoolean(1);
        }
    }
}
