package io.pgrelay.router.classify;

import io.pgrelay.router.sql.Fingerprint;
import io.pgrelay.router.sql.Hints;
import io.pgrelay.router.sql.SessionEffect;
import io.pgrelay.router.sql.SqlAnalysis;
import java.util.List;

/**
 * A classified Query or Parse text: the lexer's analysis (session effects, hints, READ ONLY) and
 * the verdict, which a background refinement may later improve. Cached and shared: immutable but
 * for the verdict, which is read through a volatile field.
 */
public final class ClassifiedQuery {
    private final SqlAnalysis analysis;
    private final Verdict verdict;

    ClassifiedQuery(SqlAnalysis analysis, Verdict verdict) {
        this.analysis = analysis;
        this.verdict = verdict;
    }

    public SqlAnalysis analysis() {
        return analysis;
    }

    /** The current verdict: the lexer's at first, the refiner's once it has run. */
    public Classification classification() {
        return verdict.current;
    }

    /** True once the refiner has run for this statement shape (whether or not it changed anything). */
    public boolean refined() {
        return verdict.refined;
    }

    public boolean replicaSafe() {
        return verdict.current.replicaSafe();
    }

    public Fingerprint fingerprint() {
        return analysis.fingerprint();
    }

    public Hints hints() {
        return analysis.hints();
    }

    public List<SessionEffect> effects() {
        return analysis.effects();
    }

    @Override
    public String toString() {
        return verdict.current + " " + analysis;
    }

    /** The verdict for one fingerprint, shared by every text of that shape. */
    static final class Verdict {
        final Classification lexer;
        volatile Classification current;
        volatile boolean refined;

        Verdict(Classification lexer) {
            this.lexer = lexer;
            this.current = lexer;
        }
    }
}
