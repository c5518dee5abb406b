package io.pgrelay.router.classify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.router.sql.SqlLexer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The routing corpus: every row of routing-corpus.tsv is classified and compared. */
class RoutingCorpusTest {
    static final StatementClassifier CLASSIFIER = new StatementClassifier(TestCatalog.safety());

    static Stream<Arguments> corpus() {
        return readCorpus().stream().map(r -> Arguments.of(r[0], r[1], r[2], r[3]));
    }

    /** Rows of {line, decision, reason, sql}. */
    static List<String[]> readCorpus() {
        List<String[]> rows = new ArrayList<>();
        try (InputStream in = RoutingCorpusTest.class.getResourceAsStream("/routing-corpus.tsv");
             BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            String line;
            int number = 0;
            while ((line = reader.readLine()) != null) {
                number++;
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] cols = line.split("\t", 3);
                rows.add(new String[] {String.valueOf(number), cols[0], cols[1], unescape(cols[2])});
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return rows;
    }

    static String unescape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                char n = s.charAt(++i);
                b.append(n == 'n' ? '\n' : n == 't' ? '\t' : n);
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    @ParameterizedTest(name = "line {0}: {3}")
    @MethodSource("corpus")
    void routesAsTheCorpusSays(String line, String decision, String reason, String sql) {
        Classification c = CLASSIFIER.classify(SqlLexer.analyze(sql));
        assertEquals(decision + " " + reason, (c.replicaSafe() ? "REPLICA" : "PRIMARY") + " " + c.reason(),
                "line " + line + ": " + sql + " -> " + c);
    }

    @Test
    void corpusHasAtLeast300RowsAndCoversEveryReason() {
        List<String[]> rows = readCorpus();
        assertTrue(rows.size() >= 300, rows.size() + " rows");
        for (Reason r : Reason.values()) {
            assertTrue(rows.stream().anyMatch(row -> row[2].equals(r.name())), "no corpus row for " + r);
        }
    }
}
