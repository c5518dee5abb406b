package io.pgrelay.router.sql;

/**
 * What a statement is, from its leading keyword(s). {@code OTHER} covers statements the router
 * has no rule for (they go to the primary).
 */
public enum StatementKind {
    SELECT, VALUES, TABLE, SHOW, EXPLAIN, WITH,
    INSERT, UPDATE, DELETE, MERGE, COPY, CALL, DO, LOCK,
    BEGIN, START_TRANSACTION, COMMIT, ROLLBACK, SAVEPOINT, RELEASE, PREPARE_TRANSACTION,
    SET, SET_TRANSACTION, RESET, DISCARD,
    PREPARE, EXECUTE, DEALLOCATE,
    DECLARE, FETCH, MOVE, CLOSE,
    LISTEN, UNLISTEN, NOTIFY, LOAD,
    /** CREATE, ALTER, DROP, TRUNCATE, GRANT, REVOKE, COMMENT, VACUUM, ANALYZE, REINDEX, ... */
    DDL,
    OTHER,
    /** Only comments or nothing between semicolons is not a statement; this marks text with none. */
    EMPTY;

    /** True for statements that only read, as far as their kind tells. */
    public boolean readOnlyKind() {
        return this == SELECT || this == VALUES || this == TABLE || this == SHOW;
    }

    static StatementKind of(Keyword k) {
        if (k == null) {
            return OTHER;
        }
        return switch (k) {
            case SELECT -> SELECT;
            case VALUES -> VALUES;
            case TABLE -> TABLE;
            case SHOW -> SHOW;
            case EXPLAIN -> EXPLAIN;
            case WITH -> WITH;
            case INSERT -> INSERT;
            case UPDATE -> UPDATE;
            case DELETE -> DELETE;
            case MERGE -> MERGE;
            case COPY -> COPY;
            case CALL -> CALL;
            case DO -> DO;
            case LOCK -> LOCK;
            case BEGIN -> BEGIN;
            case START -> START_TRANSACTION;
            case COMMIT, END -> COMMIT;
            case ROLLBACK, ABORT -> ROLLBACK;
            case SAVEPOINT -> SAVEPOINT;
            case RELEASE -> RELEASE;
            case SET -> SET;
            case RESET -> RESET;
            case DISCARD -> DISCARD;
            case PREPARE -> PREPARE;
            case EXECUTE -> EXECUTE;
            case DEALLOCATE -> DEALLOCATE;
            case DECLARE -> DECLARE;
            case FETCH -> FETCH;
            case MOVE -> MOVE;
            case CLOSE -> CLOSE;
            case LISTEN -> LISTEN;
            case UNLISTEN -> UNLISTEN;
            case NOTIFY -> NOTIFY;
            case LOAD -> LOAD;
            case CREATE, ALTER, DROP, TRUNCATE, GRANT, REVOKE, COMMENT, VACUUM, ANALYZE, ANALYSE, REINDEX,
                 CLUSTER, REFRESH, IMPORT, CHECKPOINT, REASSIGN, SECURITY -> DDL;
            default -> OTHER;
        };
    }
}
