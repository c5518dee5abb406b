package io.pgrelay.router.sql;

import java.util.ArrayList;
import java.util.List;

/**
 * The lexer's result for one Query or Parse text: its statements (empty ones dropped), its
 * fingerprint, routing hints from comments, and whether the text was lexically complete.
 */
public final class SqlAnalysis {
    private final List<StatementInfo> statements;
    private final Fingerprint fingerprint;
    private final Hints hints;
    private final boolean complete;
    private final List<SessionEffect> effects;

    SqlAnalysis(List<StatementInfo> statements, Fingerprint fingerprint, Hints hints, boolean complete) {
        this.statements = statements;
        this.fingerprint = fingerprint;
        this.hints = hints;
        this.complete = complete;
        this.effects = collectEffects(statements);
    }

    private static List<SessionEffect> collectEffects(List<StatementInfo> statements) {
        List<SessionEffect> all = SessionEffect.NONE;
        for (StatementInfo s : statements) {
            if (!s.effects().isEmpty()) {
                if (all.isEmpty()) {
                    all = new ArrayList<>(4);
                }
                all.addAll(s.effects());
            }
        }
        return all.isEmpty() ? SessionEffect.NONE : List.copyOf(all);
    }

    public List<StatementInfo> statements() {
        return statements;
    }

    public Fingerprint fingerprint() {
        return fingerprint;
    }

    public Hints hints() {
        return hints;
    }

    /** False when a string, quoted identifier, dollar quote or comment is left open. */
    public boolean complete() {
        return complete;
    }

    /** The session effects of all statements, in order; {@link SessionEffect#NONE} if there are none. */
    public List<SessionEffect> effects() {
        return effects;
    }

    /** True if any statement starts a READ ONLY transaction or makes the current one read-only. */
    public boolean readOnlyTransaction() {
        for (StatementInfo s : statements) {
            if (s.readOnlyTransaction()) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return "SqlAnalysis[" + statements + " fingerprint=" + fingerprint
                + (hints == Hints.NONE ? "" : " " + hints) + (complete ? "" : " incomplete") + "]";
    }
}
