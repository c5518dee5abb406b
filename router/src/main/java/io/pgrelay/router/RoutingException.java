package io.pgrelay.router;

/** No node can take the work; carries the SQLSTATE for the client's ErrorResponse. */
public class RoutingException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String sqlState;

    public RoutingException(String sqlState, String message) {
        super(message);
        this.sqlState = sqlState;
    }

    public String sqlState() {
        return sqlState;
    }
}
