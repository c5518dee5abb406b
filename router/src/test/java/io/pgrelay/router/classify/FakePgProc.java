package io.pgrelay.router.classify;

import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;

/** A JDBC connection whose only query answers fixed pg_proc rows, for tests of catalog loading. */
public final class FakePgProc {
    /** The SQL of the last prepared statement. */
    public String lastSql;
    private final Object[][] rows;

    /** @param rows {nspname, proname, provolatile, argument types} per function */
    public FakePgProc(Object[][] rows) {
        this.rows = rows;
    }

    public Connection connection() {
        int[] row = {-1};
        ResultSet rs = proxy(ResultSet.class, (m, args) -> switch (m) {
            case "next" -> ++row[0] < rows.length;
            case "getString" -> (String) rows[row[0]][(Integer) args[0] - 1];
            default -> null;
        });
        PreparedStatement ps = proxy(PreparedStatement.class, (m, args) -> m.equals("executeQuery") ? rs : null);
        return proxy(Connection.class, (m, args) -> {
            if (m.equals("prepareStatement")) {
                lastSql = (String) args[0];
                return ps;
            }
            return null;
        });
    }

    private interface Handler {
        Object handle(String method, Object[] args);
    }

    private static <T> T proxy(Class<T> type, Handler handler) {
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type},
                (p, m, args) -> handler.handle(m.getName(), args)));
    }
}
