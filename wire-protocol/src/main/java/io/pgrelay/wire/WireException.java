package io.pgrelay.wire;

/**
 * A protocol or authentication failure in the wire layer, carrying the SQLSTATE that the
 * ErrorResponse sent to the peer must use.
 *
 * @see <a href="https://www.postgresql.org/docs/current/errcodes-appendix.html">PostgreSQL error codes</a>
 */
public class WireException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String sqlState;

    public WireException(String sqlState, String message) {
        super(message);
        this.sqlState = sqlState;
    }

    public WireException(String sqlState, String message, Throwable cause) {
        super(message, cause);
        this.sqlState = sqlState;
    }

    /** The five-character SQLSTATE, e.g. {@code 08P01}. */
    public String sqlState() {
        return sqlState;
    }
}
