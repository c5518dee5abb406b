package io.pgrelay.router.classify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class QueryClassifierTest {
    private static final ExecutorService PARSE = Executors.newSingleThreadExecutor();
    private static final JSqlParserRefiner JSQLPARSER = new JSqlParserRefiner(PARSE, Duration.ofSeconds(5));

    /** Runs refinements only when the test says so, on the test's thread. */
    private final Queue<Runnable> pending = new ArrayDeque<>();

    @AfterAll
    static void stopParser() {
        PARSE.shutdownNow();
    }

    private QueryClassifier classifier(Refiner refiner) {
        return new QueryClassifier(TestCatalog.safety(), refiner, pending::add, QueryClassifier.Settings.DEFAULTS);
    }

    private void runRefinements() {
        for (Runnable r; (r = pending.poll()) != null; ) {
            r.run();
        }
    }

    @Test
    void aRepeatedTextIsAnsweredFromTheExactCacheWithoutLexing() {
        QueryClassifier c = classifier(JSQLPARSER);
        byte[] scratch = "..SELECT abalance FROM pgbench_accounts WHERE aid = 17..".getBytes(StandardCharsets.UTF_8);
        ClassifiedQuery first = c.classify(scratch, 2, scratch.length - 4);
        ClassifiedQuery again = c.classify("SELECT abalance FROM pgbench_accounts WHERE aid = 17");
        assertSame(first, again);
        assertTrue(again.replicaSafe());
        assertEquals(new QueryClassifier.Stats(1, 0, 1, 0, 0, 0, 0), c.stats());
    }

    @Test
    void anotherLiteralSharesTheVerdictOfItsFingerprint() {
        QueryClassifier c = classifier(JSQLPARSER);
        ClassifiedQuery a = c.classify("SELECT abalance FROM t WHERE aid = 17");
        ClassifiedQuery b = c.classify("select abalance from t where aid=18");
        assertNotSame(a, b);
        assertEquals(a.fingerprint(), b.fingerprint());
        assertSame(a.classification(), b.classification());
        assertEquals(1, pending.size(), "one refinement per shape");
        assertEquals(1, c.stats().fingerprintHits());
    }

    @Test
    void sessionEffectsComeFromTheTextNotFromTheShape() {
        QueryClassifier c = classifier(JSQLPARSER);
        assertEquals("[SetParameter[name=statement_timeout, value=1000]]",
                c.classify("SET statement_timeout = 1000").effects().toString());
        assertEquals("[SetParameter[name=statement_timeout, value=5000]]",
                c.classify("SET statement_timeout = 5000").effects().toString());
    }

    @Test
    void jsqlparserPromotesAnAliasColumnListTheLexerTookForAFunction() {
        QueryClassifier c = classifier(JSQLPARSER);
        ClassifiedQuery q = c.classify("WITH a AS (SELECT 1 AS x), b(y) AS (SELECT 2) SELECT * FROM a, b");
        assertEquals(Reason.UNKNOWN_FUNCTION, q.classification().reason());
        assertEquals("b", q.classification().detail());
        assertFalse(q.refined());
        runRefinements();
        assertTrue(q.refined());
        assertTrue(q.replicaSafe(), q.toString());
        assertEquals(Reason.READ_ONLY_SELECT, q.classification().reason());
        assertSame(q, c.classify("WITH a AS (SELECT 1 AS x), b(y) AS (SELECT 2) SELECT * FROM a, b"));
        assertEquals(1, c.stats().promoted());
    }

    @Test
    void jsqlparserKeepsAnUnknownFunctionThatReallyIsOne() {
        QueryClassifier c = classifier(JSQLPARSER);
        ClassifiedQuery q = c.classify("SELECT my_unknown_function(1) FROM t");
        runRefinements();
        assertTrue(q.refined());
        assertEquals(Reason.UNKNOWN_FUNCTION, q.classification().reason());
        assertEquals(0, c.stats().promoted());
    }

    @Test
    void aRefinerCannotMoveAHardFactToAReplica() {
        Refiner liar = (sql, analysis, lexer, functions) -> new Classification(Reason.READ_ONLY_SELECT, "trust me");
        QueryClassifier c = classifier(liar);
        List<String> hard = List.of("DELETE FROM t", "SELECT * FROM t FOR UPDATE", "/* pgrelay: primary */ SELECT 1",
                "SELECT nextval('s')", "SELECT 1; DELETE FROM t");
        List<ClassifiedQuery> queries = hard.stream().map(c::classify).toList();
        runRefinements();
        for (ClassifiedQuery q : queries) {
            assertFalse(q.replicaSafe(), q.toString());
        }
        assertEquals(0, c.stats().promoted());
    }

    @Test
    void aRefinerMayAlwaysMoveAReadToThePrimary() {
        Refiner strict = (sql, analysis, lexer, functions) -> new Classification(Reason.UNSAFE_FUNCTION, "found one");
        QueryClassifier c = classifier(strict);
        ClassifiedQuery q = c.classify("SELECT * FROM t");
        assertTrue(q.replicaSafe());
        runRefinements();
        assertFalse(q.replicaSafe());
        assertEquals("PRIMARY UNSAFE_FUNCTION (found one)", q.classification().toString());
        assertEquals(1, c.stats().demoted());
    }

    @Test
    void aFailingRefinerLeavesTheLexerVerdict() {
        QueryClassifier c = classifier((sql, analysis, lexer, functions) -> {
            throw new IllegalStateException("parser bug");
        });
        ClassifiedQuery q = c.classify("SELECT x FROM t y(a)");
        runRefinements();
        assertTrue(q.refined());
        assertEquals(Reason.UNKNOWN_FUNCTION, q.classification().reason());
    }

    @Test
    void aFullRefinementQueueIsCountedAndSkipped() {
        QueryClassifier c = new QueryClassifier(TestCatalog.safety(), JSQLPARSER, r -> {
            throw new RejectedExecutionException("full");
        }, QueryClassifier.Settings.DEFAULTS);
        ClassifiedQuery q = c.classify("SELECT 1");
        assertTrue(q.replicaSafe());
        assertEquals(1, c.stats().refinementsDropped());
    }

    @Test
    void aParseThatRunsOutOfTimeKeepsTheLexerVerdict() {
        JSqlParserRefiner impatient = new JSqlParserRefiner(PARSE, Duration.ZERO);
        StringBuilder sql = new StringBuilder("SELECT * FROM t x(a) WHERE a IN (");
        for (int i = 0; i < 2000; i++) {
            sql.append(i == 0 ? "" : ", ").append("f").append(i).append("(").append(i).append(")");
        }
        sql.append(")");
        Classification lexer = new Classification(Reason.UNKNOWN_FUNCTION, "x");
        assertNull(impatient.refine(sql.toString(), null, lexer, TestCatalog.safety()));
    }

    @Test
    void jsqlparserFindsWritesAndUnsafeFunctionsInWhatItParses() {
        FunctionSafety safety = TestCatalog.safety();
        Classification unknown = new Classification(Reason.UNKNOWN_FUNCTION, "x");
        Classification read = new Classification(Reason.READ_ONLY_SELECT);
        assertNull(JSQLPARSER.refine("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", null,
                new Classification(Reason.WRITING_CTE), safety));
        assertEquals(Reason.SEQUENCE_FUNCTION,
                JSQLPARSER.refine("SELECT nextval('s')", null, read, safety).reason());
        assertEquals(Reason.OTHER_STATEMENT, JSQLPARSER.refine("DELETE FROM t", null, read, safety).reason());
        assertNull(JSQLPARSER.refine("SELECT * FROM t FOR UPDATE", null, unknown, safety));
        assertNull(JSQLPARSER.refine("SELECT 'unterminated", null, unknown, safety));
        assertEquals(Reason.READ_ONLY_SELECT,
                JSQLPARSER.refine("SELECT coalesce(a, 1), count(*) FROM t x GROUP BY a", null, unknown, safety).reason());
    }

    @Test
    void newFunctionRulesStartFromEmptyCaches() {
        QueryClassifier c = new QueryClassifier(FunctionSafety.builtIn(), JSQLPARSER, pending::add,
                QueryClassifier.Settings.DEFAULTS);
        assertEquals(Reason.UNKNOWN_FUNCTION, c.classify("SELECT app.price_of(1)").classification().reason());
        c.functionSafety(TestCatalog.safety());
        assertTrue(c.classify("SELECT app.price_of(1)").replicaSafe());
        assertSame(TestCatalog.safety().getClass(), c.functionSafety().getClass());
        assertTrue(c.functionSafety().hasCatalog());
    }

    @Test
    void withJSqlParserRefinesOnItsOwnThreads() throws InterruptedException {
        try (QueryClassifier c = QueryClassifier.withJSqlParser(TestCatalog.safety(), Duration.ofSeconds(5),
                QueryClassifier.Settings.DEFAULTS)) {
            ClassifiedQuery q = c.classify("SELECT * FROM generate_series(1, 3) AS g(i), t u(a)");
            assertFalse(q.replicaSafe());
            for (int i = 0; i < 500 && !q.refined(); i++) {
                Thread.sleep(10);
            }
            assertTrue(q.refined());
            assertTrue(q.replicaSafe(), q.toString());
        }
    }
}
