package io.pgrelay.router.classify;

/**
 * Why a statement may run on a replica or must run on the primary; shown by
 * {@code pgrelay classify} and counted per reason in the stats.
 */
public enum Reason {
    READ_ONLY_SELECT(true),
    VALUES(true),
    TABLE(true),
    SHOW(true),
    /** EXPLAIN without ANALYZE only plans: nothing executes, so any explained statement is safe. */
    EXPLAIN(true),
    /** EXPLAIN ANALYZE executes the statement; safe only when that statement is a safe read. */
    EXPLAIN_ANALYZE_READ(true),
    COPY_TO_STDOUT(true),

    WRITE_DML(false),
    DDL(false),
    LOCKING_CLAUSE(false),
    SELECT_INTO(false),
    WRITING_CTE(false),
    UNSAFE_FUNCTION(false),
    /** A function neither the catalog nor the lists know: it might write. */
    UNKNOWN_FUNCTION(false),
    SEQUENCE_FUNCTION(false),
    SET_CONFIG(false),
    ADVISORY_LOCK(false),
    LISTEN_NOTIFY(false),
    COPY_FROM(false),
    /** COPY TO a server file or program writes on the node it runs on. */
    COPY_TO_FILE(false),
    CALL(false),
    DO(false),
    LOCK(false),
    TRANSACTION_CONTROL(false),
    /** SET, RESET, DISCARD, LOAD: session state, tracked by the server. */
    SESSION_COMMAND(false),
    /** PREPARE, EXECUTE, DEALLOCATE: the prepared statement lives on one server connection. */
    PREPARED_STATEMENT(false),
    /** DECLARE, FETCH, MOVE, CLOSE: the cursor lives on one server connection. */
    CURSOR(false),
    EXPLAIN_ANALYZE(false),
    UNPARSEABLE(false),
    EMPTY(false),
    HINT_PRIMARY(false),
    NO_LOAD_BALANCE(false),
    MULTI_STATEMENT_WRITE(false),
    OTHER_STATEMENT(false);

    private final boolean replicaSafe;

    Reason(boolean replicaSafe) {
        this.replicaSafe = replicaSafe;
    }

    public boolean replicaSafe() {
        return replicaSafe;
    }
}
