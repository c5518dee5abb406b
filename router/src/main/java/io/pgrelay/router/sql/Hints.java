package io.pgrelay.router.sql;

/**
 * Routing hints found in a statement's comments: pgpool's {@code /*NO LOAD BALANCE*}{@code /},
 * and pgrelay's {@code /* pgrelay: primary *}{@code /}, {@code /* pgrelay: replica *}{@code /} and
 * {@code /* pgrelay: min_lsn=0/16B3748 *}{@code /} (several may be given, separated by commas).
 *
 * @param primary {@code pgrelay: primary}, or a malformed {@code min_lsn} (a consistency demand
 *                pgrelay cannot read is served by the primary)
 * @param minLsn  the WAL position a replica must have replayed, or {@link #NO_LSN}
 */
public record Hints(boolean noLoadBalance, boolean primary, boolean replica, long minLsn) {
    public static final long NO_LSN = -1;
    public static final Hints NONE = new Hints(false, false, false, NO_LSN);

    /** True when the statement must go to the primary whatever it is. */
    public boolean forcePrimary() {
        return noLoadBalance || primary;
    }

    /** Parses a {@code pg_lsn} text such as {@code 0/16B3748}; -1 when it is not one. */
    public static long parseLsn(String text) {
        int slash = text.indexOf('/');
        if (slash <= 0 || slash > 8 || text.length() - slash - 1 < 1 || text.length() - slash - 1 > 8
                || text.indexOf('-') >= 0 || text.indexOf('+') >= 0) {
            return NO_LSN;
        }
        try {
            long hi = Long.parseLong(text, 0, slash, 16);
            long lo = Long.parseLong(text, slash + 1, text.length(), 16);
            return hi << 32 | lo;
        } catch (NumberFormatException e) {
            return NO_LSN;
        }
    }

    /** Formats an LSN as PostgreSQL shows it ({@code 0/16B3748}). */
    public static String formatLsn(long lsn) {
        return Long.toHexString(lsn >>> 32).toUpperCase(java.util.Locale.ROOT) + "/"
                + Long.toHexString(lsn & 0xFFFFFFFFL).toUpperCase(java.util.Locale.ROOT);
    }
}
