package io.pgrelay.failover;

/**
 * WAL positions ({@code pg_lsn}) as byte offsets in a {@code long}; 0 is PostgreSQL's invalid
 * position and means "not known" here.
 *
 * @see <a href="https://www.postgresql.org/docs/15/datatype-pg-lsn.html">PostgreSQL: pg_lsn</a>
 */
public final class Lsn {
    /** No position known. */
    public static final long UNKNOWN = 0;

    private Lsn() {
    }

    /** {@code 0/16B3748} form, as PostgreSQL prints it. */
    public static String format(long lsn) {
        return Long.toHexString(lsn >>> 32).toUpperCase() + "/" + Long.toHexString(lsn & 0xFFFFFFFFL).toUpperCase();
    }

    /** Parses {@code 0/16B3748}. */
    public static long parse(String text) {
        int slash = text.indexOf('/');
        if (slash < 1 || slash == text.length() - 1) {
            throw new IllegalArgumentException("'" + text + "' is not a WAL position like 0/16B3748");
        }
        return (Long.parseLong(text.substring(0, slash), 16) << 32) | Long.parseLong(text.substring(slash + 1), 16);
    }
}
