package io.pgrelay.router.sql;

import java.util.List;

/**
 * What the lexer learned about one statement: its kind, the facts routing depends on (locking
 * clause, SELECT INTO, writes inside WITH, function calls, COPY direction) and its session effects.
 */
public final class StatementInfo {
    private final StatementKind kind;
    private final StatementKind innerKind;
    private final String verb;
    private final int start;
    private final int end;
    private final boolean explainAnalyze;
    private final String lockingClause;
    private final boolean selectInto;
    private final boolean writingCte;
    private final boolean copyFrom;
    private final boolean copyToStdout;
    private final List<String> functions;
    private final List<SessionEffect> effects;
    private final int transactionModes;

    /** {@link #transactionModes()}: READ ONLY given. */
    public static final int READ_ONLY = 1;
    /** {@link #transactionModes()}: READ WRITE given (the last of the two wins). */
    public static final int READ_WRITE = 2;
    /** {@link #transactionModes()}: ISOLATION LEVEL SERIALIZABLE, which a hot standby refuses. */
    public static final int SERIALIZABLE = 4;

    StatementInfo(StatementKind kind, StatementKind innerKind, String verb, int start, int end,
                  boolean explainAnalyze, String lockingClause, boolean selectInto, boolean writingCte,
                  boolean copyFrom, boolean copyToStdout, List<String> functions, List<SessionEffect> effects,
                  int transactionModes) {
        this.kind = kind;
        this.innerKind = innerKind;
        this.verb = verb;
        this.start = start;
        this.end = end;
        this.explainAnalyze = explainAnalyze;
        this.lockingClause = lockingClause;
        this.selectInto = selectInto;
        this.writingCte = writingCte;
        this.copyFrom = copyFrom;
        this.copyToStdout = copyToStdout;
        this.functions = functions;
        this.effects = effects;
        this.transactionModes = transactionModes;
    }

    /** The kind given by the leading keyword (after any opening parentheses). */
    public StatementKind kind() {
        return kind;
    }

    /**
     * The statement that actually runs: for WITH the main statement after the CTEs, for EXPLAIN the
     * explained one (itself resolved through WITH); otherwise {@link #kind()}.
     */
    public StatementKind innerKind() {
        return innerKind;
    }

    /** The leading word, lower-case ({@code "select"}, {@code "vacuum"}); empty if none. */
    public String verb() {
        return verb;
    }

    /** Offset of the statement's first token, relative to the start of the analyzed text. */
    public int start() {
        return start;
    }

    /** Offset just past the statement's last token, relative to the start of the analyzed text. */
    public int end() {
        return end;
    }

    /** EXPLAIN with ANALYZE on: the explained statement is executed. */
    public boolean explainAnalyze() {
        return explainAnalyze;
    }

    /** The row-locking clause ({@code "FOR UPDATE"}, {@code "FOR KEY SHARE"} ...) or null. */
    public String lockingClause() {
        return lockingClause;
    }

    /** {@code SELECT ... INTO table}: creates a table. */
    public boolean selectInto() {
        return selectInto;
    }

    /** A WITH statement with INSERT/UPDATE/DELETE/MERGE anywhere in it. */
    public boolean writingCte() {
        return writingCte;
    }

    /** {@code COPY ... FROM}: loads data. */
    public boolean copyFrom() {
        return copyFrom;
    }

    /** {@code COPY ... TO STDOUT}: sends data to the client (COPY TO a file or program writes on the server). */
    public boolean copyToStdout() {
        return copyToStdout;
    }

    /**
     * Names of called functions, lower-case unless quoted, schema-qualified as written
     * ({@code "nextval"}, {@code "pg_catalog.now"}), each once, in order of appearance.
     */
    public List<String> functions() {
        return functions;
    }

    /** Session effects, in order; {@link SessionEffect#NONE} for most statements. */
    public List<SessionEffect> effects() {
        return effects;
    }

    /** {@code BEGIN/START TRANSACTION ... READ ONLY} or {@code SET TRANSACTION ... READ ONLY}. */
    public boolean readOnlyTransaction() {
        return (transactionModes & READ_ONLY) != 0;
    }

    /**
     * The modes a BEGIN, START TRANSACTION or SET TRANSACTION gives: {@link #READ_ONLY} or
     * {@link #READ_WRITE} (at most one), and {@link #SERIALIZABLE}; 0 for other statements.
     */
    public int transactionModes() {
        return transactionModes;
    }

    /** {@code BEGIN} or {@code START TRANSACTION}. */
    public boolean beginsTransaction() {
        return kind == StatementKind.BEGIN || kind == StatementKind.START_TRANSACTION;
    }

    @Override
    public String toString() {
        return "StatementInfo[" + kind + (innerKind != kind ? "/" + innerKind : "")
                + (explainAnalyze ? " analyze" : "") + (lockingClause != null ? " " + lockingClause : "")
                + (selectInto ? " into" : "") + (writingCte ? " writing-cte" : "") + (copyFrom ? " from" : "") + (copyToStdout ? " to-stdout" : "")
                + (functions.isEmpty() ? "" : " functions=" + functions)
                + (effects.isEmpty() ? "" : " effects=" + effects)
                + (readOnlyTransaction() ? " read-only" : "") + "]";
    }
}
