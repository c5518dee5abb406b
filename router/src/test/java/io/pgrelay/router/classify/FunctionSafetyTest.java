package io.pgrelay.router.classify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.SQLException;
import java.util.List;
import org.junit.jupiter.api.Test;

class FunctionSafetyTest {

    @Test
    void withoutACatalogOnlyTheBuiltInListsAreKnown() {
        FunctionSafety safety = FunctionSafety.builtIn();
        assertFalse(safety.hasCatalog());
        assertNull(safety.check("count"));
        assertNull(safety.check("random"));
        assertNull(safety.check("pg_catalog.now"));
        assertEquals(Reason.SEQUENCE_FUNCTION, safety.check("nextval"));
        assertEquals(Reason.ADVISORY_LOCK, safety.check("pg_try_advisory_xact_lock_shared"));
        assertEquals(Reason.UNSAFE_FUNCTION, safety.check("lo_from_bytea"));
        assertEquals(Reason.UNKNOWN_FUNCTION, safety.check("xpath"));
        assertEquals(Reason.UNKNOWN_FUNCTION, safety.check("app.count"));
    }

    @Test
    void catalogVolatilityDecidesWhatTheListsDoNotMention() {
        FunctionSafety safety = FunctionSafety.of(List.of(
                new CatalogFunction("pg_catalog", "xpath", List.of("text", "xml"), 'i'),
                new CatalogFunction("app", "touch", List.of(), 'v'),
                new CatalogFunction("app", "mixed", List.of("integer"), 'i'),
                new CatalogFunction("app", "mixed", List.of("text"), 'v')), List.of(), List.of());
        assertTrue(safety.hasCatalog());
        assertNull(safety.check("xpath"));
        assertEquals(Reason.UNSAFE_FUNCTION, safety.check("touch"));
        assertEquals(Reason.UNSAFE_FUNCTION, safety.check("app.touch"));
        assertEquals(Reason.UNSAFE_FUNCTION, safety.check("app.mixed"), "overloads merge to the most volatile");
        assertEquals(Reason.UNKNOWN_FUNCTION, safety.check("other.touch"));
    }

    @Test
    void builtInDenyBeatsTheCatalogEvenForStableFunctions() {
        FunctionSafety safety = FunctionSafety.of(List.of(
                new CatalogFunction("pg_catalog", "txid_current", List.of(), 's'),
                new CatalogFunction("pg_catalog", "pg_backend_pid", List.of(), 's')), List.of(), List.of());
        assertEquals(Reason.UNSAFE_FUNCTION, safety.check("txid_current"));
        assertEquals(Reason.UNSAFE_FUNCTION, safety.check("pg_catalog.pg_backend_pid"));
    }

    @Test
    void aVolatileUserFunctionShadowsABuiltInAllowedName() {
        FunctionSafety safety = FunctionSafety.of(List.of(
                new CatalogFunction("pg_catalog", "lower", List.of("text"), 'i'),
                new CatalogFunction("public", "lower", List.of("my_type"), 'v')), List.of(), List.of());
        assertEquals(Reason.UNSAFE_FUNCTION, safety.check("lower"));
        assertNull(safety.check("pg_catalog.lower"));
    }

    @Test
    void configuredListsWinWithPgpoolStylePrefixes() {
        FunctionSafety safety = FunctionSafety.of(List.of(
                new CatalogFunction("app", "report_a", List.of(), 'v'),
                new CatalogFunction("app", "fast_read", List.of(), 's')),
                List.of("app.report_.*", " Txid_Current "), List.of("app.fast_read", "count"));
        assertNull(safety.check("app.report_a"));
        assertNull(safety.check("txid_current"), "an operator may allow a built-in denied function");
        assertEquals(Reason.UNSAFE_FUNCTION, safety.check("app.fast_read"));
        assertEquals(Reason.UNSAFE_FUNCTION, safety.check("count"), "deny beats every allow");
    }

    @Test
    void configuredNamesFoldAsPostgresqlFoldsIdentifiers() {
        FunctionSafety safety = FunctionSafety.of(List.of(
                new CatalogFunction("app", "Report", List.of(), 'v'),
                new CatalogFunction("app", "report", List.of(), 'v'),
                new CatalogFunction("app", "q\"uote", List.of(), 'v')),
                List.of("app.\"Report\"", "APP.\"q\"\"uote\""), List.of());
        assertNull(safety.check("app.Report"), "the quoted name keeps its case");
        assertEquals(Reason.UNSAFE_FUNCTION, safety.check("app.report"), "an unquoted call folds to another function");
        assertNull(safety.check("app.q\"uote"), "a doubled quote is one quote");
    }

    @Test
    void aQualifiedWriteEntryAlsoCatchesUnqualifiedCalls() {
        FunctionSafety safety = FunctionSafety.of(List.of(new CatalogFunction("app", "bump", List.of(), 's')),
                List.of(), List.of("App.Bump"));
        assertEquals(Reason.UNSAFE_FUNCTION, safety.check("app.bump"));
        assertEquals(Reason.UNSAFE_FUNCTION, safety.check("bump"), "the search_path may resolve bump to app.bump");
        assertEquals(Reason.UNKNOWN_FUNCTION, safety.check("other.bump"),
                "another schema's bump is not the listed one: not in the catalog, so unknown rather than denied");
    }

    @Test
    void sameRulesComparesCatalogAndLists() {
        List<CatalogFunction> rows = List.of(new CatalogFunction("app", "f", List.of(), 's'));
        FunctionSafety a = FunctionSafety.of(rows, List.of("x"), List.of("y"));
        assertTrue(a.sameRules(FunctionSafety.of(List.copyOf(rows), List.of("X"), List.of("y"))));
        assertFalse(a.sameRules(FunctionSafety.of(List.of(new CatalogFunction("app", "f", List.of(), 'v')),
                List.of("x"), List.of("y"))), "a changed volatility");
        assertFalse(a.sameRules(FunctionSafety.of(rows, List.of("x"), List.of())), "a changed list");
    }

    @Test
    void aCatalogRowMustHaveAKnownVolatility() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new CatalogFunction("app", "f", List.of(), 'x'));
        assertEquals("provolatile of app.f is 'x'; expected 'i', 's' or 'v'", e.getMessage());
    }

    @Test
    void loaderReadsPgProcRowsThroughJdbc() throws SQLException {
        FakePgProc pgProc = new FakePgProc(new Object[][] {
                {"pg_catalog", "now", "s", ""},
                {"app", "touch", "v", "integer, text"}});
        List<CatalogFunction> rows = PgProcLoader.load(pgProc.connection());
        assertEquals(PgProcLoader.QUERY, pgProc.lastSql);
        assertEquals(List.of(new CatalogFunction("pg_catalog", "now", List.of(), 's'),
                new CatalogFunction("app", "touch", List.of("integer", "text"), 'v')), rows);
    }
}
