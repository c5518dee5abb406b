package io.pgrelay.microbench;

import io.pgrelay.router.classify.ClassifiedQuery;
import io.pgrelay.router.classify.FunctionSafety;
import io.pgrelay.router.classify.QueryClassifier;
import io.pgrelay.router.sql.SqlAnalysis;
import io.pgrelay.router.sql.SqlLexer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What routing costs an event loop per statement: a decision from the exact-text cache, the lexer
 * with its fingerprint on a 200-character ORM query, a fingerprint-cache hit (same shape, new
 * literal) and a miss (a shape never seen, classified and queued for refinement).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Thread)
public class ClassifyBenchmark {
    /** A Django-style read of about 200 characters. */
    static final String STATEMENT = "SELECT \"app_user\".\"id\", \"app_user\".\"email\", \"app_user\".\"name\", "
            + "\"app_user\".\"created_at\" FROM \"app_user\" WHERE \"app_user\".\"email\" = 'someone@example.com' "
            + "AND \"app_user\".\"active\" ORDER BY \"app_user\".\"id\" LIMIT 21";

    private static final int VARIANTS = 1 << 16;

    private QueryClassifier classifier;
    private byte[] statement;
    private byte[][] sameShape;
    private int next;

    @Setup
    public void setUp() {
        // Refinements are dropped: the benchmark measures the event-loop side only.
        classifier = new QueryClassifier(FunctionSafety.builtIn(), (sql, a, lexer, f) -> null, r -> { },
                QueryClassifier.Settings.DEFAULTS);
        statement = STATEMENT.getBytes(StandardCharsets.UTF_8);
        classifier.classify(statement, 0, statement.length);
        sameShape = new byte[VARIANTS][];
        for (int i = 0; i < VARIANTS; i++) {
            sameShape[i] = STATEMENT.replace("someone@", "user" + i + "@").getBytes(StandardCharsets.UTF_8);
        }
    }

    @Benchmark
    public ClassifiedQuery cacheHit() {
        return classifier.classify(statement, 0, statement.length);
    }

    @Benchmark
    public SqlAnalysis lexerAndFingerprint() {
        return SqlLexer.analyze(statement, 0, statement.length);
    }

    @Benchmark
    public ClassifiedQuery fingerprintHit() {
        byte[] text = sameShape[next++ & (VARIANTS - 1)];
        return classifier.classify(text, 0, text.length);
    }

    @Benchmark
    public ClassifiedQuery cacheMiss() {
        // A new column alias each time: a shape no cache has seen.
        byte[] text = ("SELECT \"app_user\".\"id\" AS c" + next++ + ", \"app_user\".\"email\" FROM \"app_user\" "
                + "WHERE \"app_user\".\"email\" = 'someone@example.com' LIMIT 21").getBytes(StandardCharsets.UTF_8);
        return classifier.classify(text, 0, text.length);
    }
}
