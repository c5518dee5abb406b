package io.pgrelay.router.classify;

import java.util.Locale;

/**
 * Folds a configured function name the way PostgreSQL folds identifiers, so that it compares with
 * the names the lexer reports: unquoted parts lower-cased, {@code "Quoted"} parts kept as written
 * without their quotes ({@code ""} inside is one quote).
 *
 * @see <a href="https://www.postgresql.org/docs/15/sql-syntax-lexical.html#SQL-SYNTAX-IDENTIFIERS">PostgreSQL: identifiers and key words</a>
 */
final class FunctionNames {
    private FunctionNames() {
    }

    /** {@code Reports."Daily" } -> {@code reports.Daily}. */
    static String fold(String name) {
        String s = name.strip();
        StringBuilder out = new StringBuilder(s.length());
        boolean quoted = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"') {
                if (quoted && i + 1 < s.length() && s.charAt(i + 1) == '"') {
                    out.append('"');
                    i++;
                } else {
                    quoted = !quoted;
                }
            } else {
                out.append(quoted ? String.valueOf(c) : String.valueOf(c).toLowerCase(Locale.ROOT));
            }
        }
        return out.toString();
    }
}
