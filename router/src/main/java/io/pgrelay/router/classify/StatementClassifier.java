package io.pgrelay.router.classify;

import io.pgrelay.router.sql.SqlAnalysis;
import io.pgrelay.router.sql.StatementInfo;
import io.pgrelay.router.sql.StatementKind;
import java.util.List;

/**
 * Turns the lexer's facts into a verdict, conservatively: replica-safe only for SELECT / VALUES /
 * TABLE / SHOW / EXPLAIN / COPY TO STDOUT with no locking clause, no SELECT INTO, no write inside
 * WITH and only safe functions; everything else, and any text the lexer could not close, goes to
 * the primary. A multi-statement text goes to the primary if any statement must.
 *
 * <p>{@code /* pgrelay: replica *}{@code /} does not change the verdict: the hint cannot put a write on
 * a standby; it relaxes the consistency policy instead (see {@code RoutingPolicy}).
 */
public final class StatementClassifier {
    private static final Classification EMPTY = new Classification(Reason.EMPTY);
    private static final Classification UNPARSEABLE = new Classification(Reason.UNPARSEABLE, "unterminated quote or comment");
    private static final Classification NO_LOAD_BALANCE = new Classification(Reason.NO_LOAD_BALANCE);
    private static final Classification HINT_PRIMARY = new Classification(Reason.HINT_PRIMARY);

    private final FunctionSafety functions;

    public StatementClassifier(FunctionSafety functions) {
        this.functions = functions;
    }

    public FunctionSafety functionSafety() {
        return functions;
    }

    public Classification classify(SqlAnalysis analysis) {
        if (!analysis.complete()) {
            return UNPARSEABLE;
        }
        if (analysis.hints().noLoadBalance()) {
            return NO_LOAD_BALANCE;
        }
        if (analysis.hints().primary()) {
            return HINT_PRIMARY;
        }
        List<StatementInfo> statements = analysis.statements();
        if (statements.isEmpty()) {
            return EMPTY;
        }
        Classification first = classify(statements.get(0));
        if (statements.size() == 1 || !first.replicaSafe()) {
            return statements.size() == 1 ? first : multi(1, statements.size(), first);
        }
        for (int i = 1; i < statements.size(); i++) {
            Classification c = classify(statements.get(i));
            if (!c.replicaSafe()) {
                return multi(i + 1, statements.size(), c);
            }
        }
        return first;
    }

    private static Classification multi(int index, int count, Classification part) {
        return new Classification(Reason.MULTI_STATEMENT_WRITE, "statement " + index + " of " + count + ": "
                + part.reason() + (part.detail().isEmpty() ? "" : " " + part.detail()));
    }

    /** One statement's verdict. */
    public Classification classify(StatementInfo s) {
        return switch (s.kind()) {
            case SELECT -> read(s, Reason.READ_ONLY_SELECT);
            case WITH -> read(s, Reason.READ_ONLY_SELECT);
            case VALUES -> read(s, Reason.VALUES);
            case TABLE -> read(s, Reason.TABLE);
            case SHOW -> new Classification(Reason.SHOW);
            case EXPLAIN -> explain(s);
            case COPY -> copy(s);
            default -> new Classification(otherReason(s.kind()), s.verb());
        };
    }

    /** The reason for a kind that never reads only. */
    private static Reason otherReason(StatementKind kind) {
        return switch (kind) {
            case INSERT, UPDATE, DELETE, MERGE -> Reason.WRITE_DML;
            case CALL -> Reason.CALL;
            case DO -> Reason.DO;
            case LOCK -> Reason.LOCK;
            case BEGIN, START_TRANSACTION, COMMIT, ROLLBACK, SAVEPOINT, RELEASE, PREPARE_TRANSACTION,
                 SET_TRANSACTION -> Reason.TRANSACTION_CONTROL;
            case SET, RESET, DISCARD, LOAD -> Reason.SESSION_COMMAND;
            case PREPARE, EXECUTE, DEALLOCATE -> Reason.PREPARED_STATEMENT;
            case DECLARE, FETCH, MOVE, CLOSE -> Reason.CURSOR;
            case LISTEN, UNLISTEN, NOTIFY -> Reason.LISTEN_NOTIFY;
            case DDL -> Reason.DDL;
            default -> Reason.OTHER_STATEMENT;
        };
    }

    private Classification explain(StatementInfo s) {
        if (!s.explainAnalyze()) {
            return new Classification(Reason.EXPLAIN);
        }
        Classification inner = read(s, Reason.EXPLAIN_ANALYZE_READ);
        if (inner.replicaSafe()) {
            return inner;
        }
        return new Classification(Reason.EXPLAIN_ANALYZE, inner.reason() + (inner.detail().isEmpty() ? "" : " " + inner.detail()));
    }

    private Classification copy(StatementInfo s) {
        if (s.copyFrom()) {
            return new Classification(Reason.COPY_FROM);
        }
        if (!s.copyToStdout()) {
            return new Classification(Reason.COPY_TO_FILE);
        }
        return read(s, Reason.COPY_TO_STDOUT);
    }

    /** The checks every reading statement must pass; {@code ok} is the verdict when it does. */
    private Classification read(StatementInfo s, Reason ok) {
        StatementKind inner = s.innerKind();
        boolean readsOnly = inner.readOnlyKind() || (s.kind() == StatementKind.COPY && inner == StatementKind.COPY);
        if (!readsOnly) {
            return new Classification(otherReason(inner), inner.name().toLowerCase(java.util.Locale.ROOT));
        }
        if (s.lockingClause() != null) {
            return new Classification(Reason.LOCKING_CLAUSE, s.lockingClause());
        }
        if (s.selectInto()) {
            return new Classification(Reason.SELECT_INTO);
        }
        if (s.writingCte()) {
            return new Classification(Reason.WRITING_CTE);
        }
        for (String f : s.functions()) {
            Reason unsafe = functions.check(f);
            if (unsafe != null) {
                return new Classification(unsafe, f);
            }
        }
        return new Classification(ok);
    }
}
