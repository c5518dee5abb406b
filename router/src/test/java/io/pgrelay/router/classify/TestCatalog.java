package io.pgrelay.router.classify;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** The function catalog the corpus is written against: PostgreSQL 15's pg_proc plus a few app functions. */
final class TestCatalog {
    private TestCatalog() {
    }

    static List<CatalogFunction> pgProc15() {
        List<CatalogFunction> rows = new ArrayList<>(2700);
        try (InputStream in = TestCatalog.class.getResourceAsStream("/pg_proc-15.tsv");
             BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            String line;
            while ((line = reader.readLine()) != null) {
                if (!line.startsWith("#")) {
                    String[] cols = line.split("\t");
                    rows.add(new CatalogFunction(cols[0], cols[1], List.of(), cols[2].charAt(0)));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return rows;
    }

    static FunctionSafety safety() {
        List<CatalogFunction> rows = pgProc15();
        rows.add(new CatalogFunction("app", "audit_log", List.of("text"), 'v'));
        rows.add(new CatalogFunction("app", "price_of", List.of("integer"), 's'));
        rows.add(new CatalogFunction("app", "report_daily", List.of(), 'v'));
        rows.add(new CatalogFunction("public", "dangerous_read", List.of("integer"), 's'));
        rows.add(new CatalogFunction("public", "MixedCase", List.of(), 'v'));
        rows.add(new CatalogFunction("app", "summarize", List.of("integer"), 's'));
        return FunctionSafety.of(rows, List.of("app.report_*", "public.\"MixedCase\""),
                List.of("public.dangerous_read", "APP.Summarize"));
    }
}
