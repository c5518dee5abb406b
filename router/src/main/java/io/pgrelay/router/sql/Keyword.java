package io.pgrelay.router.sql;

import java.nio.charset.StandardCharsets;

/**
 * The SQL words the lexer acts on, looked up from raw bytes without allocating. Not PostgreSQL's
 * whole keyword list: only words that decide a statement's kind, its session effects, or that are
 * never function names when followed by {@code (}.
 */
enum Keyword {
    ABORT, ALL, ALTER, ANALYSE, ANALYZE, AND, ANY, ARRAY, AS, ATOMIC, AUTHORIZATION, BEGIN, BETWEEN, BIT,
    BY, CALL, CASE, CAST, CHAR, CHARACTER, CHARACTERISTICS, CHECK, CHECKPOINT, CLOSE, CLUSTER, COALESCE,
    COMMENT, COMMIT, CONFLICT, CONSTRAINTS, COPY, CREATE, CUBE, CURRENT_DATE, CURRENT_TIME, CURRENT_TIMESTAMP,
    CURSOR, DEALLOCATE, DEC, DECIMAL, DECLARE, DEFAULT, DEFERRABLE, DELETE, DISCARD, DISTINCT, DO, DROP, ELSE, END, EXCEPT,
    EXCLUDE, EXECUTE, EXISTS, EXPLAIN, EXTRACT, FALSE, FETCH, FILTER, FLOAT, FOR, FOREIGN, FROM, FUNCTION, GLOBAL,
    GRANT, GREATEST, GROUP, GROUPING, GROUPS, HAVING, HOLD, ILIKE, IMPORT, IN, INCLUDE, INDEX, INSERT,
    INTERSECT, INTERVAL, INTO, IS, ISOLATION, JOIN, JSON, JSON_ARRAY, JSON_ARRAYAGG, JSON_EXISTS, JSON_OBJECT,
    JSON_OBJECTAGG, JSON_QUERY, JSON_SCALAR, JSON_SERIALIZE, JSON_TABLE, JSON_VALUE, KEY, LATERAL, LEAST,
    LEVEL, LIKE, LIMIT, LISTEN, LOAD, LOCAL, LOCALTIME, LOCALTIMESTAMP, LOCK, MATERIALIZED, MERGE, MOVE, NAMES, NATIONAL, NCHAR,
    NO, NORMALIZE, NOT, NOTIFY, NULLIF, NUMERIC, OFF, OFFSET, ON, ONLY, OPERATOR, OR, ORDER, OVER, OVERLAY,
    PARTITION, POSITION, PRECISION, PREPARE, PRIMARY, PROCEDURE, RANGE, READ, REASSIGN, RECURSIVE, REFERENCES, REFRESH,
    REINDEX, RELEASE, REPLACE, RESET, RETURN, RETURNING, REVOKE, ROLE, ROLLBACK, ROLLUP, ROW, ROWS,
    SAVEPOINT, SCHEMA, SECURITY, SELECT, SEQUENCE, SESSION, SET, SETS, SHARE, SHOW, SIMILAR, SOME, START,
    SUBSTRING, TABLE, TABLESAMPLE, TEMP, TEMPORARY, THEN, TIME, TIMESTAMP, TO, TRANSACTION, TREAT, TRIM,
    TRUE, TRUNCATE, UNION, UNIQUE, UNLISTEN, UNLOGGED, UPDATE, USING, VACUUM, VALUES, VARCHAR, VARYING,
    VERBOSE, VIEW, WHEN, WHERE, WINDOW, WITH, WITHIN, WITHOUT, WORK, WRITE, XMLATTRIBUTES, XMLCONCAT, XMLELEMENT,
    XMLEXISTS, XMLFOREST, XMLPARSE, XMLPI, XMLROOT, XMLSERIALIZE, XMLTABLE, ZONE;

    private static final int MAX_LENGTH = 24;
    private static final Keyword[][] TABLE_BY_LENGTH_AND_LETTER = new Keyword[(MAX_LENGTH + 1) * 26][];
    private static final Keyword[] NONE = {};

    static {
        for (Keyword k : values()) {
            int slot = slot(k.bytes.length, k.bytes[0]);
            Keyword[] old = TABLE_BY_LENGTH_AND_LETTER[slot] == null ? NONE : TABLE_BY_LENGTH_AND_LETTER[slot];
            Keyword[] grown = java.util.Arrays.copyOf(old, old.length + 1);
            grown[old.length] = k;
            TABLE_BY_LENGTH_AND_LETTER[slot] = grown;
        }
    }

    /** Lower-case spelling, as it is shown and as the lexer compares it. */
    final String word;
    private final byte[] bytes;

    Keyword() {
        word = name().toLowerCase(java.util.Locale.ROOT);
        bytes = word.getBytes(StandardCharsets.US_ASCII);
    }

    private static int slot(int length, byte lowerFirst) {
        return length * 26 + (lowerFirst - 'a');
    }

    /** The keyword spelled by {@code buf[start, end)} in any letter case, or null. */
    static Keyword lookup(byte[] buf, int start, int end) {
        int length = end - start;
        int first = buf[start] | 0x20;
        if (length > MAX_LENGTH || first < 'a' || first > 'z') {
            return null;
        }
        Keyword[] candidates = TABLE_BY_LENGTH_AND_LETTER[slot(length, (byte) first)];
        if (candidates == null) {
            return null;
        }
        outer:
        for (Keyword k : candidates) {
            byte[] w = k.bytes;
            for (int i = 1; i < length; i++) {
                int b = buf[start + i];
                // ASCII letters only: '|0x20' folds case; digits and '_' are unchanged by it.
                if ((b | 0x20) != w[i] && b != w[i]) {
                    continue outer;
                }
            }
            return k;
        }
        return null;
    }
}
