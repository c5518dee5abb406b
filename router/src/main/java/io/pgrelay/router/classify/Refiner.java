package io.pgrelay.router.classify;

import io.pgrelay.router.sql.SqlAnalysis;

/**
 * A slower second opinion on a statement, run off the event loops (see {@link QueryClassifier}).
 */
public interface Refiner {
    /**
     * A better verdict for {@code sql}, or null to keep {@code lexer}. Implementations may move a
     * verdict to the primary for any reason they find, but to a replica only from a reason
     * {@link #promotable(Classification)} accepts, and only when they prove the statement safe.
     */
    Classification refine(String sql, SqlAnalysis analysis, Classification lexer, FunctionSafety functions);

    /** True for the lexer's guesses a parser may overturn; hard facts (a write, a lock) never are. */
    static boolean promotable(Classification lexer) {
        return lexer.reason() == Reason.UNKNOWN_FUNCTION || lexer.reason() == Reason.WRITING_CTE;
    }

    /**
     * True when {@code refined} may replace {@code lexer}: a move to the primary from a replica
     * verdict, or to a replica from a {@link #promotable} one.
     */
    static boolean allowed(Classification lexer, Classification refined) {
        return refined.replicaSafe() ? !lexer.replicaSafe() && promotable(lexer) : lexer.replicaSafe();
    }

    /** True when a refiner is worth running for this verdict. */
    static boolean worthRefining(SqlAnalysis analysis, Classification lexer) {
        return analysis.statements().size() == 1 && (promotable(lexer) || lexer.replicaSafe());
    }
}
