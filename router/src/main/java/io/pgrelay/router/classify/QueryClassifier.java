package io.pgrelay.router.classify;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.pgrelay.router.sql.Fingerprint;
import io.pgrelay.router.sql.SqlAnalysis;
import io.pgrelay.router.sql.SqlLexer;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Classifies Query and Parse texts on the event loop, cheaply:
 * <ol>
 * <li>a text seen before, byte for byte, is answered from {@link ExactTextCache} without lexing;</li>
 * <li>otherwise the lexer runs (it also yields the session effects the server needs) and the verdict
 *     for the text's {@link Fingerprint} comes from a bounded Caffeine cache;</li>
 * <li>a new fingerprint gets the lexer's conservative verdict at once, and is handed to a
 *     {@link Refiner} on a background executor, which may change the shared verdict later.</li>
 * </ol>
 * Directions a refinement may take, enforced here whatever the refiner says: to the primary from
 * any replica verdict (a wrong primary costs load only); to a replica only from a verdict
 * {@link Refiner#promotable(Classification)} names (the lexer's guesses), never from a hard fact
 * such as a write, a row lock or a hint. Until a refinement lands, the lexer's verdict stands.
 *
 * <p>Thread-safe; {@link #classify} never blocks. A new {@link FunctionSafety} (catalog refresh,
 * reload) starts empty caches, since verdicts depend on it.
 */
public final class QueryClassifier implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(QueryClassifier.class);

    /**
     * Cache sizes.
     *
     * @param exactSlots         slots of the exact-text table (a power of two is used)
     * @param maxExactTextLength longer texts skip the exact-text table
     * @param fingerprints       most statement shapes kept with their verdict
     */
    public record Settings(int exactSlots, int maxExactTextLength, long fingerprints) {
        public static final Settings DEFAULTS = new Settings(4096, 2048, 10_000);
    }

    /** Counters for the admin console and tests. */
    public record Stats(long exactHits, long fingerprintHits, long misses, long refined, long promoted,
                        long demoted, long refinementsDropped) {
    }

    private record Generation(StatementClassifier classifier, ExactTextCache exact,
                              Cache<Fingerprint, ClassifiedQuery.Verdict> byShape) {
    }

    private final Settings settings;
    private final Refiner refiner;
    private final Executor executor;
    private final AutoCloseable owned;
    private volatile Generation generation;

    private final LongAdder exactHits = new LongAdder();
    private final LongAdder fingerprintHits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final LongAdder refined = new LongAdder();
    private final LongAdder promoted = new LongAdder();
    private final LongAdder demoted = new LongAdder();
    private final LongAdder dropped = new LongAdder();

    /**
     * @param executor runs refinements; must not be an event loop (a refinement parses for up to
     *                 its timeout). A rejected refinement is counted and skipped.
     */
    public QueryClassifier(FunctionSafety functions, Refiner refiner, Executor executor, Settings settings) {
        this(functions, refiner, executor, settings, null);
    }

    private QueryClassifier(FunctionSafety functions, Refiner refiner, Executor executor, Settings settings,
                            AutoCloseable owned) {
        this.settings = settings;
        this.refiner = refiner;
        this.executor = executor;
        this.owned = owned;
        this.generation = newGeneration(functions);
    }

    /**
     * A classifier refining with JSqlParser on two daemon threads of its own (one queues the work,
     * one parses so that a parse can be abandoned after {@code parseTimeout}); {@link #close()} stops them.
     */
    public static QueryClassifier withJSqlParser(FunctionSafety functions, Duration parseTimeout, Settings settings) {
        ThreadPoolExecutor queue = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
                new ArrayBlockingQueue<>(1024), daemon("pgrelay-sql-refine"), new ThreadPoolExecutor.AbortPolicy());
        ExecutorService parse = Executors.newSingleThreadExecutor(daemon("pgrelay-sql-parse"));
        AutoCloseable stop = () -> {
            queue.shutdownNow();
            parse.shutdownNow();
        };
        return new QueryClassifier(functions, new JSqlParserRefiner(parse, parseTimeout), queue, settings, stop);
    }

    private static ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }

    private Generation newGeneration(FunctionSafety functions) {
        return new Generation(new StatementClassifier(functions),
                new ExactTextCache(settings.exactSlots(), settings.maxExactTextLength()),
                Caffeine.newBuilder().maximumSize(settings.fingerprints()).executor(Runnable::run).build());
    }

    /** Replaces the function rules (catalog refresh, reload); cached verdicts are dropped. */
    public void functionSafety(FunctionSafety functions) {
        generation = newGeneration(functions);
    }

    public FunctionSafety functionSafety() {
        return generation.classifier().functionSafety();
    }

    /** Classifies the UTF-8 text {@code buf[offset, offset + length)}; the bytes are not kept. */
    public ClassifiedQuery classify(byte[] buf, int offset, int length) {
        Generation g = generation;
        int hash = ExactTextCache.hash(buf, offset, length);
        ClassifiedQuery hit = g.exact().get(buf, offset, length, hash);
        if (hit != null) {
            exactHits.increment();
            return hit;
        }
        SqlAnalysis analysis = SqlLexer.analyze(buf, offset, length);
        ClassifiedQuery.Verdict verdict = g.byShape().getIfPresent(analysis.fingerprint());
        if (verdict != null) {
            fingerprintHits.increment();
        } else {
            misses.increment();
            Classification lexer = g.classifier().classify(analysis);
            ClassifiedQuery.Verdict fresh = new ClassifiedQuery.Verdict(lexer);
            verdict = g.byShape().asMap().putIfAbsent(analysis.fingerprint(), fresh);
            if (verdict == null) {
                verdict = fresh;
                if (Refiner.worthRefining(analysis, lexer)) {
                    submit(g, fresh, new String(buf, offset, length, UTF_8), analysis);
                }
            }
        }
        ClassifiedQuery query = new ClassifiedQuery(analysis, verdict);
        g.exact().put(buf, offset, length, hash, query);
        return query;
    }

    /** Convenience for the CLI and tests. */
    public ClassifiedQuery classify(String sql) {
        byte[] bytes = sql.getBytes(UTF_8);
        return classify(bytes, 0, bytes.length);
    }

    private void submit(Generation g, ClassifiedQuery.Verdict verdict, String sql, SqlAnalysis analysis) {
        try {
            executor.execute(() -> refine(g, verdict, sql, analysis));
        } catch (RejectedExecutionException e) {
            // Refinement is an optimisation: under a burst of new shapes the lexer's verdict stands.
            dropped.increment();
        }
    }

    private void refine(Generation g, ClassifiedQuery.Verdict verdict, String sql, SqlAnalysis analysis) {
        Classification better = null;
        try {
            better = refiner.refine(sql, analysis, verdict.lexer, g.classifier().functionSafety());
        } catch (RuntimeException | StackOverflowError e) {
            log.debug("refinement failed, keeping {} for {}", verdict.lexer, sql, e);
        }
        if (better != null && Refiner.allowed(verdict.lexer, better)) {
            verdict.current = better;
            (better.replicaSafe() ? promoted : demoted).increment();
        }
        verdict.refined = true;
        refined.increment();
    }

    public Stats stats() {
        return new Stats(exactHits.sum(), fingerprintHits.sum(), misses.sum(), refined.sum(), promoted.sum(),
                demoted.sum(), dropped.sum());
    }

    /** Stops the threads {@link #withJSqlParser} started; a no-op for a caller's executor. */
    @Override
    public void close() {
        if (owned != null) {
            try {
                owned.close();
            } catch (Exception e) {
                throw new IllegalStateException("stopping the refinement threads failed", e);
            }
        }
    }
}
