package io.pgrelay.router.classify;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads function volatility from {@code pg_proc} over JDBC. Blocking: call it from a health or
 * monitor thread, never an event loop.
 */
public final class PgProcLoader {
    static final String QUERY = "SELECT n.nspname, p.proname, p.provolatile,"
            + " pg_catalog.oidvectortypes(p.proargtypes)"
            + " FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace";

    private PgProcLoader() {
    }

    public static List<CatalogFunction> load(Connection connection) throws SQLException {
        List<CatalogFunction> rows = new ArrayList<>(4096);
        try (PreparedStatement statement = connection.prepareStatement(QUERY);
             ResultSet rs = statement.executeQuery()) {
            while (rs.next()) {
                String args = rs.getString(4);
                List<String> argTypes = args == null || args.isEmpty() ? List.of() : List.of(args.split(", "));
                rows.add(new CatalogFunction(rs.getString(1), rs.getString(2), argTypes, rs.getString(3).charAt(0)));
            }
        }
        return rows;
    }
}
