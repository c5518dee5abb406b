package io.pgrelay.pool;

import io.pgrelay.wire.message.backend.BackendMessage.ErrorResponse;

/**
 * A server connection could not be had or was lost. Carries the SQLSTATE for the client and, when
 * PostgreSQL itself refused (unknown database, bad password), the server's own ErrorResponse so
 * the client sees exactly what PostgreSQL said.
 */
public class PoolException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String sqlState;
    private final transient ErrorResponse serverError;

    public PoolException(String sqlState, String message) {
        this(sqlState, message, null, null);
    }

    public PoolException(String sqlState, String message, ErrorResponse serverError, Throwable cause) {
        super(message, cause);
        this.sqlState = sqlState;
        this.serverError = serverError;
    }

    public String sqlState() {
        return sqlState;
    }

    /** The server's ErrorResponse, when PostgreSQL sent one; else null. */
    public ErrorResponse serverError() {
        return serverError;
    }
}
