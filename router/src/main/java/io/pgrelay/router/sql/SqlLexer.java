package io.pgrelay.router.sql;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * Single-pass lexer over a statement text in UTF-8 bytes: splits statements, fingerprints them and
 * records what routing and transaction pooling need (see {@link SqlAnalysis}). It follows
 * PostgreSQL's lexical rules (<a href="https://www.postgresql.org/docs/current/sql-syntax-lexical.html">
 * Lexical Structure</a>): nested block comments, {@code E''}, {@code U&''}, dollar quotes, quoted
 * identifiers. It assumes {@code standard_conforming_strings = on} (the default since 9.1).
 *
 * <p>Cost model: one pass over the bytes, tokens as offsets into scratch arrays reused per thread,
 * no allocation per token; strings are made only for what the result exposes (function names, SET
 * values, unusual leading words).
 */
public final class SqlLexer {
    static final byte WORD = 1;
    static final byte QIDENT = 2;
    static final byte STRING = 3;
    static final byte NUMBER = 4;
    static final byte PARAM = 5;
    static final byte OP = 6;
    static final byte LPAREN = 7;
    static final byte RPAREN = 8;
    static final byte COMMA = 9;
    static final byte DOT = 10;
    static final byte CAST = 11;
    static final byte PUNCT = 12;

    /** Marks a literal in the fingerprint; cannot collide with a token byte, which is < 256. */
    private static final int LITERAL_MARK = 0x1_0000;

    /** Words that are syntax, not function names, when directly followed by {@code (}. */
    private static final Set<Keyword> NOT_FUNCTION = EnumSet.of(
            Keyword.ALL, Keyword.AND, Keyword.ANY, Keyword.ARRAY, Keyword.AS, Keyword.BETWEEN, Keyword.BIT,
            Keyword.BY, Keyword.CASE, Keyword.CAST, Keyword.CHAR, Keyword.CHARACTER, Keyword.CHECK,
            Keyword.COALESCE, Keyword.CONFLICT, Keyword.CUBE, Keyword.CURRENT_DATE, Keyword.CURRENT_TIME,
            Keyword.CURRENT_TIMESTAMP, Keyword.DEC, Keyword.DECIMAL, Keyword.DEFAULT, Keyword.DISTINCT,
            Keyword.DO, Keyword.ELSE, Keyword.EXCEPT, Keyword.EXCLUDE, Keyword.EXISTS, Keyword.EXTRACT,
            Keyword.FILTER, Keyword.FLOAT, Keyword.FOR, Keyword.FOREIGN, Keyword.FROM, Keyword.GREATEST,
            Keyword.GROUP, Keyword.GROUPING, Keyword.GROUPS, Keyword.HAVING, Keyword.ILIKE, Keyword.IN,
            Keyword.INCLUDE, Keyword.INDEX, Keyword.INTERSECT, Keyword.INTERVAL, Keyword.INTO, Keyword.IS,
            Keyword.JOIN, Keyword.JSON, Keyword.JSON_ARRAY, Keyword.JSON_ARRAYAGG, Keyword.JSON_EXISTS,
            Keyword.JSON_OBJECT, Keyword.JSON_OBJECTAGG, Keyword.JSON_QUERY, Keyword.JSON_SCALAR,
            Keyword.JSON_SERIALIZE, Keyword.JSON_TABLE, Keyword.JSON_VALUE, Keyword.KEY, Keyword.LATERAL,
            Keyword.LEAST, Keyword.LIKE, Keyword.LIMIT, Keyword.LOCALTIME, Keyword.LOCALTIMESTAMP,
            Keyword.MATERIALIZED, Keyword.NATIONAL, Keyword.NCHAR, Keyword.NORMALIZE, Keyword.NOT,
            Keyword.NULLIF, Keyword.NUMERIC, Keyword.OFFSET, Keyword.ON, Keyword.ONLY, Keyword.OPERATOR,
            Keyword.OR, Keyword.ORDER, Keyword.OVER, Keyword.OVERLAY, Keyword.PARTITION, Keyword.POSITION,
            Keyword.PRECISION, Keyword.PRIMARY, Keyword.RANGE, Keyword.REFERENCES, Keyword.RETURN,
            Keyword.RETURNING, Keyword.ROLLUP, Keyword.ROW, Keyword.ROWS, Keyword.SELECT, Keyword.SET,
            Keyword.SETS, Keyword.SIMILAR, Keyword.SOME, Keyword.SUBSTRING, Keyword.TABLE,
            Keyword.TABLESAMPLE, Keyword.THEN, Keyword.TIME, Keyword.TIMESTAMP, Keyword.TO, Keyword.TREAT,
            Keyword.TRIM, Keyword.UNION, Keyword.UNIQUE, Keyword.USING, Keyword.VALUES, Keyword.VARCHAR,
            Keyword.VARYING, Keyword.WHEN, Keyword.WHERE, Keyword.WINDOW, Keyword.WITH, Keyword.WITHIN,
            Keyword.XMLATTRIBUTES, Keyword.XMLCONCAT, Keyword.XMLELEMENT, Keyword.XMLEXISTS,
            Keyword.XMLFOREST, Keyword.XMLPARSE, Keyword.XMLPI, Keyword.XMLROOT, Keyword.XMLSERIALIZE,
            Keyword.XMLTABLE);

    /** After these words, {@code name(} names a table, alias, type or prepared statement. */
    private static final Set<Keyword> NAME_BEFORE_PAREN = EnumSet.of(
            Keyword.AS, Keyword.INTO, Keyword.TABLE, Keyword.WITH, Keyword.RECURSIVE, Keyword.TABLESAMPLE,
            Keyword.EXECUTE, Keyword.PREPARE, Keyword.COPY, Keyword.FUNCTION, Keyword.PROCEDURE);

    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long ONES = 0x0101010101010101L;
    private static final long HIGH_BITS = 0x8080808080808080L;

    private static final ThreadLocal<SqlLexer> SCRATCH = ThreadLocal.withInitial(SqlLexer::new);

    private int[] tStart = new int[64];
    private int[] tEnd = new int[64];
    private byte[] tType = new byte[64];
    private Keyword[] tKw = new Keyword[64];
    private int n;

    private byte[] buf;
    private int base;
    private boolean complete;
    private List<StatementInfo> statements;

    private long h1;
    private long h2;
    private boolean lastLiteral;
    private boolean pendingComma;

    private boolean hintNoLoadBalance;
    private boolean hintPrimary;
    private boolean hintReplica;
    private long hintMinLsn;

    private boolean inAtomic;
    private int caseDepth;

    private SqlLexer() {
    }

    /** Analyzes {@code buf[offset, offset + length)}, a UTF-8 statement text. */
    public static SqlAnalysis analyze(byte[] buf, int offset, int length) {
        return SCRATCH.get().run(buf, offset, length);
    }

    /** Convenience for tests and the CLI. */
    public static SqlAnalysis analyze(String sql) {
        byte[] bytes = sql.getBytes(UTF_8);
        return analyze(bytes, 0, bytes.length);
    }

    private SqlAnalysis run(byte[] b, int offset, int length) {
        buf = b;
        base = offset;
        complete = true;
        statements = new ArrayList<>(1);
        n = 0;
        h1 = 0xcbf29ce484222325L;
        h2 = 0x6a09e667f3bcc908L;
        lastLiteral = false;
        pendingComma = false;
        hintNoLoadBalance = false;
        hintPrimary = false;
        hintReplica = false;
        hintMinLsn = Hints.NO_LSN;
        inAtomic = false;
        caseDepth = 0;
        try {
            tokenize(offset, offset + length);
            endStatement();
            return new SqlAnalysis(statements.size() == 1 ? List.of(statements.get(0)) : List.copyOf(statements),
                    fingerprint(), hints(), complete);
        } finally {
            buf = null;
            statements = null;
        }
    }

    private Hints hints() {
        if (!hintNoLoadBalance && !hintPrimary && !hintReplica && hintMinLsn == Hints.NO_LSN) {
            return Hints.NONE;
        }
        return new Hints(hintNoLoadBalance, hintPrimary, hintReplica, hintMinLsn);
    }

    private Fingerprint fingerprint() {
        // Hints change the decision, so they are part of the shape; min_lsn's value is not.
        mix(0x2_0000 | (hintNoLoadBalance ? 1 : 0) | (hintPrimary ? 2 : 0) | (hintReplica ? 4 : 0) | (complete ? 0 : 8));
        return new Fingerprint(fmix(h1), fmix(h2 ^ Long.rotateLeft(h1, 17)));
    }

    private static long fmix(long k) {
        k ^= k >>> 33;
        k *= 0xff51afd7ed558ccdL;
        k ^= k >>> 33;
        k *= 0xc4ceb9fe1a85ec53L;
        k ^= k >>> 33;
        return k;
    }

    /** Adds a token marker (a punctuation byte, a token type, or a wider marker) to the fingerprint. */
    private void mix(int marker) {
        mixWord(marker, 9);
    }

    /**
     * Adds a token's bytes to the fingerprint eight at a time, lower-casing ASCII letters when
     * {@code fold} (unquoted words: PostgreSQL folds them). {@code tag} keeps "ab" + "c" apart from
     * "a" + "bc".
     */
    private void mixBytes(int start, int end, boolean fold) {
        byte[] b = buf;
        int i = start;
        for (; i + 8 <= end; i += 8) {
            long v = (long) LONGS.get(b, i);
            mixWord(fold ? foldAscii(v) : v, 8);
        }
        long tail = 0;
        int n = 0;
        for (; i < end; i++, n++) {
            int c = b[i] & 0xff;
            tail = (tail << 8) | (fold && c >= 'A' && c <= 'Z' ? c | 0x20 : c);
        }
        if (n > 0) {
            mixWord(tail, n);
        }
    }

    /** Lower-cases the ASCII capitals among eight bytes, leaving every other byte alone (SWAR). */
    static long foldAscii(long v) {
        long low7 = v & 0x7F7F7F7F7F7F7F7FL;
        long atLeastA = low7 + 0x3F3F3F3F3F3F3F3FL;
        long aboveZ = low7 + 0x2525252525252525L;
        long capitals = atLeastA & ~aboveZ & ~v & HIGH_BITS;
        return v | (capitals >>> 2);
    }

    private void mixWord(long v, int tag) {
        h1 = Long.rotateLeft((h1 ^ v) * 0x9E3779B97F4A7C15L, 27) + tag;
        h2 = Long.rotateLeft((h2 + v) * 0xC2B2AE3D27D4EB4FL, 31) ^ (tag * 0x165667B19E3779F9L);
    }

    /** Index of the first {@code target} in {@code buf[from, end)}, or {@code end}; eight bytes a step. */
    private int indexOf(byte target, int from, int end) {
        byte[] b = buf;
        long pattern = ONES * (target & 0xff);
        int i = from;
        for (; i + 8 <= end; i += 8) {
            long x = (long) LONGS.get(b, i) ^ pattern;
            long zero = (x - ONES) & ~x & HIGH_BITS;
            if (zero != 0) {
                return i + (Long.numberOfTrailingZeros(zero) >>> 3);
            }
        }
        for (; i < end; i++) {
            if (b[i] == target) {
                return i;
            }
        }
        return end;
    }

    // ---------------------------------------------------------------- tokenizer

    private void tokenize(int p, int end) {
        byte[] b = buf;
        while (p < end) {
            int c = b[p] & 0xff;
            switch (c) {
                case ' ', '\t', '\n', '\r', '\f', 0x0b -> p++;
                case '-' -> p = p + 1 < end && b[p + 1] == '-' ? lineComment(p + 2, end) : operator(p, end);
                case '/' -> p = p + 1 < end && b[p + 1] == '*' ? blockComment(p + 2, end) : operator(p, end);
                case '\'' -> p = string(p, p + 1, end, false);
                case '"' -> p = quotedIdentifier(p, p + 1, end);
                case '$' -> p = dollar(p, end);
                case '(' -> p = punct(LPAREN, p);
                case ')' -> p = punct(RPAREN, p);
                case ',' -> p = comma(p);
                case ';' -> {
                    if (inAtomic) {
                        p = punct(PUNCT, p);
                    } else {
                        endStatement();
                        p++;
                    }
                }
                case '.' -> p = p + 1 < end && isDigit(b[p + 1]) ? number(p, end) : punct(DOT, p);
                case ':' -> {
                    if (p + 1 < end && b[p + 1] == ':') {
                        add(CAST, p, p + 2, null);
                        fpToken(':');
                        mix(':');
                        p += 2;
                    } else {
                        p = punct(PUNCT, p);
                    }
                }
                default -> {
                    if (isDigit(c)) {
                        p = number(p, end);
                    } else if (isIdentStart(c)) {
                        p = word(p, end);
                    } else if (isOperatorChar(c)) {
                        p = operator(p, end);
                    } else {
                        p = punct(PUNCT, p);
                    }
                }
            }
        }
    }

    private static boolean isDigit(int c) {
        return c >= '0' && c <= '9';
    }

    private static boolean isIdentStart(int c) {
        c &= 0xff;
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
    }

    private static boolean isIdentContinue(int c) {
        return isIdentStart(c) || isDigit(c) || c == '$';
    }

    private static boolean isOperatorChar(int c) {
        return switch (c) {
            case '+', '-', '*', '/', '<', '>', '=', '~', '!', '@', '#', '%', '^', '&', '|', '`', '?' -> true;
            default -> false;
        };
    }

    private int punct(byte type, int p) {
        add(type, p, p + 1, null);
        fpToken(buf[p]);
        return p + 1;
    }

    private int comma(int p) {
        add(COMMA, p, p + 1, null);
        // A list of literals, as in IN (1, 2, 3), has one shape whatever its length.
        if (lastLiteral && !pendingComma) {
            pendingComma = true;
        } else {
            fpToken(',');
        }
        return p + 1;
    }

    /** Starts a non-literal token in the fingerprint, first writing a comma held back by a literal list. */
    private void fpToken(int marker) {
        if (pendingComma) {
            mix(',');
            pendingComma = false;
        }
        lastLiteral = false;
        mix(marker);
    }

    private void literal(byte type, int start, int end) {
        add(type, start, end, null);
        if (pendingComma) {
            pendingComma = false; // ", literal" after a literal: drop both
        } else if (!lastLiteral) {
            mix(LITERAL_MARK);
            lastLiteral = true;
        }
    }

    private void add(byte type, int start, int end, Keyword k) {
        if (n == 0 && !statements.isEmpty()) {
            mix(';');
        }
        if (n == tType.length) {
            int size = n * 2;
            tStart = java.util.Arrays.copyOf(tStart, size);
            tEnd = java.util.Arrays.copyOf(tEnd, size);
            tType = java.util.Arrays.copyOf(tType, size);
            tKw = java.util.Arrays.copyOf(tKw, size);
        }
        tStart[n] = start;
        tEnd[n] = end;
        tType[n] = type;
        tKw[n] = k;
        n++;
    }

    private int word(int p, int end) {
        byte[] b = buf;
        int start = p;
        int first = b[p] | 0x20;
        if (p + 1 < end && b[p + 1] == '\'') {
            if (first == 'e') {
                return string(start, p + 2, end, true);
            }
            if (first == 'b' || first == 'x' || first == 'n') {
                return string(start, p + 2, end, false);
            }
        }
        if (first == 'u' && p + 2 < end && b[p + 1] == '&') {
            if (b[p + 2] == '\'') {
                return string(start, p + 3, end, false);
            }
            if (b[p + 2] == '"') {
                return quotedIdentifier(start, p + 3, end);
            }
        }
        p++;
        while (p < end && isIdentContinue(b[p] & 0xff)) {
            p++;
        }
        Keyword k = Keyword.lookup(b, start, p);
        if (k == Keyword.ATOMIC && n > 0 && tKw[n - 1] == Keyword.BEGIN && tKw[0] == Keyword.CREATE) {
            // CREATE FUNCTION ... BEGIN ATOMIC ... END: semicolons inside do not end the statement.
            inAtomic = true;
        } else if (inAtomic && k == Keyword.CASE) {
            caseDepth++;
        } else if (inAtomic && k == Keyword.END) {
            if (caseDepth > 0) {
                caseDepth--;
            } else {
                inAtomic = false;
            }
        }
        add(WORD, start, p, k);
        fpToken(WORD);
        mixBytes(start, p, true);
        return p;
    }

    private int string(int start, int p, int end, boolean backslashEscapes) {
        byte[] b = buf;
        while (!backslashEscapes) {
            int quote = indexOf((byte) '\'', p, end);
            if (quote == end) {
                complete = false;
                literal(STRING, start, end);
                return end;
            }
            if (quote + 1 < end && b[quote + 1] == '\'') {
                p = quote + 2;
            } else {
                literal(STRING, start, quote + 1);
                return quote + 1;
            }
        }
        while (p < end) {
            byte c = b[p];
            if (c == '\\' && backslashEscapes) {
                p += 2;
            } else if (c == '\'') {
                if (p + 1 < end && b[p + 1] == '\'') {
                    p += 2;
                } else {
                    literal(STRING, start, p + 1);
                    return p + 1;
                }
            } else {
                p++;
            }
        }
        complete = false;
        literal(STRING, start, end);
        return end;
    }

    private int quotedIdentifier(int start, int p, int end) {
        while (true) {
            int quote = indexOf((byte) '"', p, end);
            if (quote == end) {
                complete = false;
                return exactToken(QIDENT, start, end);
            }
            if (quote + 1 < end && buf[quote + 1] == '"') {
                p = quote + 2;
            } else {
                return exactToken(QIDENT, start, quote + 1);
            }
        }
    }

    /** A token whose bytes enter the fingerprint as written (quoted identifier, operator, $n). */
    private int exactToken(byte type, int start, int end) {
        add(type, start, end, null);
        fpToken(type);
        mixBytes(start, end, false);
        return end;
    }

    private int dollar(int p, int end) {
        byte[] b = buf;
        int q = p + 1;
        if (q < end && isDigit(b[q])) {
            while (q < end && isDigit(b[q])) {
                q++;
            }
            return exactToken(PARAM, p, q);
        }
        if (q < end && isIdentStart(b[q])) {
            q++;
            while (q < end && (isIdentStart(b[q]) || isDigit(b[q]))) {
                q++;
            }
        }
        if (q < end && b[q] == '$') {
            int tagLength = q - p + 1;
            for (int i = q + 1; i + tagLength <= end; i++) {
                if (b[i] == '$' && java.util.Arrays.equals(b, i, i + tagLength, b, p, p + tagLength)) {
                    literal(STRING, p, i + tagLength);
                    return i + tagLength;
                }
            }
            complete = false;
            literal(STRING, p, end);
            return end;
        }
        return punct(PUNCT, p);
    }

    private int number(int p, int end) {
        byte[] b = buf;
        int start = p;
        int x = p + 1 < end ? b[p + 1] | 0x20 : 0;
        if (b[p] == '0' && (x == 'x' || x == 'o' || x == 'b')) {
            p += 2;
            while (p < end && (isDigit(b[p]) || isIdentStart(b[p]))) {
                p++;
            }
        } else {
            while (p < end && (isDigit(b[p]) || b[p] == '_')) {
                p++;
            }
            if (p < end && b[p] == '.' && !(p + 1 < end && b[p + 1] == '.')) {
                p++;
                while (p < end && (isDigit(b[p]) || b[p] == '_')) {
                    p++;
                }
            }
            if (p < end && (b[p] | 0x20) == 'e') {
                int q = p + 1;
                if (q < end && (b[q] == '+' || b[q] == '-')) {
                    q++;
                }
                if (q < end && isDigit(b[q])) {
                    p = q;
                    while (p < end && isDigit(b[p])) {
                        p++;
                    }
                }
            }
        }
        literal(NUMBER, start, p);
        return p;
    }

    private int operator(int p, int end) {
        byte[] b = buf;
        int start = p;
        while (p < end && isOperatorChar(b[p])) {
            // A comment start ends the operator, as in PostgreSQL's scanner.
            if (p > start && p + 1 < end && ((b[p] == '-' && b[p + 1] == '-') || (b[p] == '/' && b[p + 1] == '*'))) {
                break;
            }
            p++;
        }
        if (p - start > 1 && (b[p - 1] == '+' || b[p - 1] == '-')) {
            // "=-1" is "=" then "-1": an operator ends in + or - only if it has one of ~!@#%^&|`?
            boolean special = false;
            for (int i = start; i < p; i++) {
                switch (b[i]) {
                    case '~', '!', '@', '#', '%', '^', '&', '|', '`', '?' -> special = true;
                    default -> { }
                }
            }
            while (!special && p - start > 1 && (b[p - 1] == '+' || b[p - 1] == '-')) {
                p--;
            }
        }
        return exactToken(OP, start, p);
    }

    private int lineComment(int p, int end) {
        int start = p;
        while (p < end && buf[p] != '\n' && buf[p] != '\r') {
            p++;
        }
        hint(start, p);
        return p;
    }

    private int blockComment(int p, int end) {
        byte[] b = buf;
        int start = p;
        int depth = 1;
        while (p < end) {
            if (b[p] == '/' && p + 1 < end && b[p + 1] == '*') {
                depth++;
                p += 2;
            } else if (b[p] == '*' && p + 1 < end && b[p + 1] == '/') {
                p += 2;
                if (--depth == 0) {
                    hint(start, p - 2);
                    return p;
                }
            } else {
                p++;
            }
        }
        complete = false;
        return end;
    }

    /** Reads a routing hint from a comment body; most comments are rejected on their first letter. */
    private void hint(int start, int end) {
        while (start < end && isSpace(buf[start])) {
            start++;
        }
        if (start == end) {
            return;
        }
        int first = buf[start] | 0x20;
        if (first != 'n' && first != 'p') {
            return;
        }
        String body = new String(buf, start, end - start, UTF_8).strip();
        if (body.equalsIgnoreCase("no load balance")) {
            hintNoLoadBalance = true;
            return;
        }
        if (!body.regionMatches(true, 0, "pgrelay:", 0, 8)) {
            return;
        }
        for (String item : body.substring(8).split(",")) {
            String directive = item.strip();
            if (directive.equalsIgnoreCase("primary")) {
                hintPrimary = true;
            } else if (directive.equalsIgnoreCase("replica")) {
                hintReplica = true;
            } else if (directive.regionMatches(true, 0, "min_lsn", 0, 7)) {
                String rest = directive.substring(7).strip();
                long lsn = rest.startsWith("=") ? Hints.parseLsn(rest.substring(1).strip()) : Hints.NO_LSN;
                if (lsn == Hints.NO_LSN) {
                    hintPrimary = true;
                } else {
                    hintMinLsn = Math.max(hintMinLsn, lsn);
                }
            }
        }
    }

    private static boolean isSpace(byte c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == 0x0b;
    }

    // ---------------------------------------------------------------- statement analysis

    private void endStatement() {
        if (n == 0) {
            return;
        }
        StatementInfo info = new StatementAnalyzer().analyze();
        statements.add(info);
        // Facts that literals can decide (EXPLAIN (ANALYZE 0), COPY ... TO 'file') join the shape,
        // so that one fingerprint always stands for one set of lexer facts.
        mix(0x3_0000 | (info.explainAnalyze() ? 1 : 0) | (info.copyFrom() ? 2 : 0) | (info.copyToStdout() ? 4 : 0)
                | (info.readOnlyTransaction() ? 8 : 0));
        n = 0;
        inAtomic = false;
        caseDepth = 0;
    }

    private Keyword kw(int i) {
        return i >= 0 && i < n ? tKw[i] : null;
    }

    private boolean is(int i, Keyword k) {
        return i >= 0 && i < n && tKw[i] == k;
    }

    private boolean isName(int i) {
        return i >= 0 && i < n && (tType[i] == WORD || tType[i] == QIDENT);
    }

    /** The word at {@code i} lower-cased, or a quoted identifier's content; null if neither. */
    private String name(int i) {
        if (!isName(i)) {
            return null;
        }
        if (tType[i] == WORD) {
            return tKw[i] != null ? tKw[i].word : lower(tStart[i], tEnd[i]);
        }
        int s = tStart[i];
        s += buf[s] == '"' ? 1 : 3; // "x" or U&"x"
        int e = tEnd[i] - (buf[tEnd[i] - 1] == '"' && tEnd[i] - 1 >= s ? 1 : 0);
        return new String(buf, s, e - s, UTF_8).replace("\"\"", "\"");
    }

    private String lower(int start, int end) {
        byte[] copy = java.util.Arrays.copyOfRange(buf, start, end);
        for (int i = 0; i < copy.length; i++) {
            if (copy[i] >= 'A' && copy[i] <= 'Z') {
                copy[i] |= 0x20;
            }
        }
        return new String(copy, UTF_8);
    }

    private boolean wordIs(int i, String lowerWord) {
        return i >= 0 && i < n && tType[i] == WORD && tEnd[i] - tStart[i] == lowerWord.length()
                && lower(tStart[i], tEnd[i]).equals(lowerWord);
    }

    /** SQL text from the start of token {@code from} to the end of the statement, as written. */
    private String textFrom(int from) {
        return new String(buf, tStart[from], tEnd[n - 1] - tStart[from], UTF_8);
    }

    private int matchingParen(int open) {
        int depth = 0;
        for (int i = open; i < n; i++) {
            if (tType[i] == LPAREN) {
                depth++;
            } else if (tType[i] == RPAREN && --depth == 0) {
                return i;
            }
        }
        return n;
    }

    private int skipParens(int i) {
        while (i < n && tType[i] == LPAREN) {
            i++;
        }
        return i;
    }

    /** The kind of the statement starting at {@code i}, looking through WITH to its main statement. */
    private StatementKind kindAt(int i) {
        i = skipParens(i);
        StatementKind k = StatementKind.of(kw(i));
        return k == StatementKind.WITH ? mainOfWith(i) : k;
    }

    private StatementKind mainOfWith(int with) {
        int depth = 0;
        for (int i = with + 1; i < n; i++) {
            switch (tType[i]) {
                case LPAREN -> {
                    if (depth == 0 && tType[i - 1] == RPAREN) {
                        return kindAt(i); // WITH x AS (...) (SELECT ...)
                    }
                    depth++;
                }
                case RPAREN -> depth--;
                case WORD -> {
                    if (depth == 0) {
                        Keyword k = tKw[i];
                        if (k == Keyword.SELECT || k == Keyword.INSERT || k == Keyword.UPDATE || k == Keyword.DELETE
                                || k == Keyword.MERGE || k == Keyword.VALUES || k == Keyword.TABLE) {
                            return StatementKind.of(k);
                        }
                    }
                }
                default -> { }
            }
            if (depth < 0) {
                break;
            }
        }
        return StatementKind.OTHER;
    }

    /** One statement's facts, computed from the token arrays once the statement has ended. */
    private final class StatementAnalyzer {
        private List<SessionEffect> effects = SessionEffect.NONE;
        private List<String> functions = List.of();

        private void effect(SessionEffect e) {
            if (effects.isEmpty()) {
                effects = new ArrayList<>(2);
            }
            effects.add(e);
        }

        StatementInfo analyze() {
            int first = skipParens(0);
            Keyword head = kw(first);
            StatementKind kind = StatementKind.of(head);
            String verb = head != null ? head.word
                    : first < n && tType[first] == WORD ? lower(tStart[first], tEnd[first]) : "";
            if (kind == StatementKind.SET && is(first + 1, Keyword.TRANSACTION)) {
                kind = StatementKind.SET_TRANSACTION;
            } else if (kind == StatementKind.PREPARE && is(first + 1, Keyword.TRANSACTION)) {
                kind = StatementKind.PREPARE_TRANSACTION;
            }
            StatementKind inner = kind;
            boolean explainAnalyze = false;
            if (kind == StatementKind.EXPLAIN) {
                int j = first + 1;
                if (j < n && tType[j] == LPAREN) {
                    int close = matchingParen(j);
                    explainAnalyze = explainOptionsAnalyze(j + 1, close);
                    j = close + 1;
                } else {
                    while (is(j, Keyword.ANALYZE) || is(j, Keyword.ANALYSE) || is(j, Keyword.VERBOSE)) {
                        explainAnalyze |= !is(j, Keyword.VERBOSE);
                        j++;
                    }
                }
                inner = kindAt(j);
            } else if (kind == StatementKind.WITH) {
                inner = mainOfWith(first);
            } else if (kind == StatementKind.COPY && first + 1 < n && tType[first + 1] == LPAREN) {
                inner = kindAt(first + 2);
            }

            String lockingClause = null;
            boolean sawWith = false;
            boolean dml = false;
            int into = -1;
            int copyDirection = -1;
            int depth = 0;
            for (int i = 0; i < n; i++) {
                byte type = tType[i];
                if (type == LPAREN) {
                    if (i > 0 && isName(i - 1)) {
                        callAt(i);
                    }
                    depth++;
                    continue;
                }
                if (type == RPAREN) {
                    depth--;
                    continue;
                }
                Keyword k = tKw[i];
                if (type != WORD || k == null) {
                    continue;
                }
                switch (k) {
                    case WITH -> sawWith = true;
                    case FOR -> {
                        String lock = lockAt(i);
                        if (lock != null && lockingClause == null) {
                            lockingClause = lock;
                        }
                    }
                    case INSERT, UPDATE, DELETE, MERGE -> dml |= isDmlKeyword(i);
                    case INTO -> {
                        if (into < 0 && !is(i - 1, Keyword.INSERT) && !is(i - 1, Keyword.MERGE)) {
                            into = i;
                        }
                    }
                    case FROM, TO -> {
                        if (kind == StatementKind.COPY && depth == 0 && copyDirection < 0) {
                            copyDirection = i;
                        }
                    }
                    default -> { }
                }
            }
            boolean selectInto = into >= 0 && inner == StatementKind.SELECT;
            if (selectInto && (is(into + 1, Keyword.TEMP) || is(into + 1, Keyword.TEMPORARY)
                    || (wordIs(into + 1, "pg_temp") && into + 2 < n && tType[into + 2] == DOT))) {
                effect(new SessionEffect.Pin("temporary table"));
            }
            boolean copyFrom = kind == StatementKind.COPY && is(copyDirection, Keyword.FROM);
            boolean copyToStdout = kind == StatementKind.COPY && is(copyDirection, Keyword.TO)
                    && wordIs(copyDirection + 1, "stdout");
            int transactionModes = statementEffects(kind, first);
            return new StatementInfo(kind, inner, verb, tStart[0] - base, tEnd[n - 1] - base, explainAnalyze,
                    lockingClause, selectInto, dml && sawWith, copyFrom, copyToStdout, functions, effects,
                    transactionModes);
        }

        /** INSERT/UPDATE/DELETE/MERGE as a verb, not as part of a name or a locking clause. */
        private boolean isDmlKeyword(int i) {
            if (i > 0 && (tType[i - 1] == DOT || tType[i - 1] == CAST)) {
                return false;
            }
            if (i + 1 < n && tType[i + 1] == DOT) {
                return false;
            }
            return !is(i - 1, Keyword.FOR) && !is(i - 1, Keyword.KEY);
        }

        private String lockAt(int i) {
            Keyword next = kw(i + 1);
            if (next == Keyword.UPDATE) {
                return "FOR UPDATE";
            }
            if (next == Keyword.SHARE) {
                return "FOR SHARE";
            }
            if (next == Keyword.NO && is(i + 2, Keyword.KEY) && is(i + 3, Keyword.UPDATE)) {
                return "FOR NO KEY UPDATE";
            }
            if (next == Keyword.KEY && is(i + 2, Keyword.SHARE)) {
                return "FOR KEY SHARE";
            }
            return null;
        }

        private boolean explainOptionsAnalyze(int from, int close) {
            boolean analyze = false;
            for (int i = from; i < close; i++) {
                if ((is(i, Keyword.ANALYZE) || is(i, Keyword.ANALYSE)) && tType[i - 1] != DOT) {
                    analyze = !isFalse(i + 1, close);
                }
            }
            return analyze;
        }

        private boolean isFalse(int i, int close) {
            if (i >= close || tType[i] == COMMA) {
                return false;
            }
            String v = tType[i] == STRING ? new String(buf, tStart[i], tEnd[i] - tStart[i], UTF_8).toLowerCase(java.util.Locale.ROOT)
                    : lower(tStart[i], tEnd[i]);
            return switch (v) {
                case "false", "off", "0", "'false'", "'off'", "'0'", "'f'", "'n'", "'no'", "no" -> true;
                default -> false;
            };
        }

        /** A {@code (} at {@code open} after a name: record a function call unless the name is syntax. */
        private void callAt(int open) {
            int last = open - 1;
            int head = last;
            while (head >= 2 && tType[head - 1] == DOT && isName(head - 2)) {
                head -= 2;
            }
            if (head == last && tType[last] == WORD && tKw[last] != null && NOT_FUNCTION.contains(tKw[last])) {
                return;
            }
            int before = head - 1;
            if (before < 0 || skipParens(0) == head) {
                return; // a statement's leading word, as in EXPLAIN (...) or COPY (...)
            }
            if (tType[before] == CAST || tType[before] == RPAREN || tType[before] == DOT) {
                return; // a type modifier, or an alias's column list after a function or subquery
            }
            if (tType[before] == WORD && tKw[before] != null && NAME_BEFORE_PAREN.contains(tKw[before])) {
                return;
            }
            StringBuilder qualified = new StringBuilder();
            for (int i = head; i <= last; i += 2) {
                if (i > head) {
                    qualified.append('.');
                }
                qualified.append(name(i));
            }
            String function = qualified.toString();
            if (functions.contains(function)) {
                return;
            }
            if (functions.isEmpty()) {
                functions = new ArrayList<>(4);
            }
            functions.add(function);
            String bare = function.startsWith("pg_catalog.") ? function.substring(11) : function;
            switch (bare) {
                case "pg_advisory_lock", "pg_advisory_lock_shared", "pg_try_advisory_lock",
                     "pg_try_advisory_lock_shared" -> effect(new SessionEffect.Pin("session advisory lock"));
                case "set_config" -> {
                    // set_config(name, value, true) is transaction-local (PostgREST sends it per request).
                    int close = matchingParen(open);
                    boolean local = close < n && is(close - 1, Keyword.TRUE) && tType[close - 2] == COMMA;
                    if (!local) {
                        effect(new SessionEffect.Pin("set_config"));
                    }
                }
                default -> { }
            }
        }

        /** Adds the session effects of SET, RESET, LISTEN ...; returns the transaction modes of BEGIN / SET TRANSACTION. */
        private int statementEffects(StatementKind kind, int first) {
            switch (kind) {
                case SET -> set(first + 1);
                case RESET -> reset(first + 1);
                case DISCARD -> {
                    if (is(first + 1, Keyword.ALL)) {
                        effect(SessionEffect.DiscardAll.INSTANCE);
                    }
                }
                case LISTEN -> effect(new SessionEffect.Pin("LISTEN"));
                case PREPARE -> effect(new SessionEffect.Pin("SQL-level PREPARE"));
                case LOAD -> effect(new SessionEffect.Pin("LOAD"));
                case DEALLOCATE -> {
                    int j = is(first + 1, Keyword.PREPARE) ? first + 2 : first + 1;
                    if (is(j, Keyword.ALL)) {
                        effect(SessionEffect.DeallocateAll.INSTANCE);
                    } else if (isName(j)) {
                        effect(new SessionEffect.DeallocatePrepared(name(j)));
                    }
                }
                case DDL -> {
                    if (is(first, Keyword.CREATE)) {
                        createTemporary(first + 1);
                    }
                }
                case DECLARE -> {
                    for (int j = first + 1; j < n && !is(j, Keyword.FOR); j++) {
                        if (is(j, Keyword.WITH) && is(j + 1, Keyword.HOLD)) {
                            effect(new SessionEffect.Pin("cursor WITH HOLD"));
                        }
                    }
                }
                case BEGIN, START_TRANSACTION, SET_TRANSACTION -> {
                    return transactionModes(first + 1);
                }
                default -> { }
            }
            return 0;
        }

        /** The last of READ ONLY / READ WRITE from {@code from} on wins, as in PostgreSQL; and SERIALIZABLE. */
        private int transactionModes(int from) {
            int access = 0;
            int serializable = 0;
            for (int j = from; j < n; j++) {
                if (is(j, Keyword.READ) && is(j + 1, Keyword.ONLY)) {
                    access = StatementInfo.READ_ONLY;
                } else if (is(j, Keyword.READ) && is(j + 1, Keyword.WRITE)) {
                    access = StatementInfo.READ_WRITE;
                } else if (wordIs(j, "serializable")) {
                    serializable = StatementInfo.SERIALIZABLE;
                }
            }
            return access | serializable;
        }

        private void set(int j) {
            boolean local = false;
            if (is(j, Keyword.SESSION)) {
                if (is(j + 1, Keyword.AUTHORIZATION)) {
                    effect(new SessionEffect.Pin("SET SESSION AUTHORIZATION"));
                    return;
                }
                if (is(j + 1, Keyword.CHARACTERISTICS)) {
                    characteristics(j + 2);
                    return;
                }
                j++;
            } else if (is(j, Keyword.LOCAL)) {
                local = true;
                j++;
            }
            String name;
            int value;
            if (is(j, Keyword.TIME) && is(j + 1, Keyword.ZONE)) {
                name = "timezone";
                value = j + 2;
                if (is(value, Keyword.LOCAL)) {
                    setValue(local, name, value, true);
                    return;
                }
                if (is(value, Keyword.INTERVAL) && !local) {
                    // SET TIME ZONE INTERVAL '...' has no "SET timezone TO" spelling to replay.
                    effect(new SessionEffect.Pin("SET TIME ZONE INTERVAL"));
                    return;
                }
            } else if (is(j, Keyword.SCHEMA)) {
                name = "search_path";
                value = j + 1;
            } else if (is(j, Keyword.NAMES)) {
                name = "client_encoding";
                value = j + 1;
            } else if (is(j, Keyword.ROLE)) {
                name = "role";
                value = j + 1;
            } else if (is(j, Keyword.CONSTRAINTS)) {
                return; // transaction-scoped
            } else if (wordIs(j, "xml") && wordIs(j + 1, "option")) {
                name = "xmloption";
                value = j + 2;
            } else {
                int k = j;
                StringBuilder qualified = new StringBuilder();
                while (isName(k)) {
                    qualified.append(name(k));
                    if (k + 2 < n && tType[k + 1] == DOT) {
                        qualified.append('.');
                        k += 2;
                    } else {
                        k++;
                        break;
                    }
                }
                boolean equals = k < n && tType[k] == OP && tEnd[k] - tStart[k] == 1 && buf[tStart[k]] == '=';
                if (qualified.isEmpty() || !(is(k, Keyword.TO) || equals)) {
                    effect(new SessionEffect.Pin("unrecognised SET"));
                    return;
                }
                name = qualified.toString();
                value = k + 1;
            }
            if (value >= n) {
                effect(new SessionEffect.Pin("unrecognised SET"));
                return;
            }
            if (!local && (name.equals("role") || name.equals("session_authorization"))) {
                effect(new SessionEffect.Pin(name.equals("role") ? "SET ROLE" : "SET SESSION AUTHORIZATION"));
                return;
            }
            setValue(local, name, value, value == n - 1 && is(value, Keyword.DEFAULT));
        }

        private void setValue(boolean local, String name, int value, boolean isDefault) {
            if (local) {
                effect(new SessionEffect.SetLocal(name, textFrom(value)));
            } else if (isDefault) {
                effect(new SessionEffect.ResetParameter(name));
            } else {
                effect(new SessionEffect.SetParameter(name, textFrom(value)));
            }
        }

        /** SET SESSION CHARACTERISTICS AS TRANSACTION modes: the default_transaction_* parameters. */
        private void characteristics(int j) {
            if (!is(j, Keyword.AS) || !is(j + 1, Keyword.TRANSACTION)) {
                effect(new SessionEffect.Pin("unrecognised SET"));
                return;
            }
            for (int i = j + 2; i < n; i++) {
                if (is(i, Keyword.READ) && is(i + 1, Keyword.ONLY)) {
                    effect(new SessionEffect.SetParameter("default_transaction_read_only", "on"));
                    i++;
                } else if (is(i, Keyword.READ) && is(i + 1, Keyword.WRITE)) {
                    effect(new SessionEffect.SetParameter("default_transaction_read_only", "off"));
                    i++;
                } else if (is(i, Keyword.NOT) && is(i + 1, Keyword.DEFERRABLE)) {
                    effect(new SessionEffect.SetParameter("default_transaction_deferrable", "off"));
                    i++;
                } else if (is(i, Keyword.DEFERRABLE)) {
                    effect(new SessionEffect.SetParameter("default_transaction_deferrable", "on"));
                } else if (is(i, Keyword.ISOLATION) && is(i + 1, Keyword.LEVEL)) {
                    i += 2;
                    String level = name(i);
                    if (level != null && !level.equals("serializable") && isName(i + 1)) {
                        level = level + " " + name(++i);
                    }
                    effect(new SessionEffect.SetParameter("default_transaction_isolation", "'" + level + "'"));
                }
            }
        }

        private void reset(int j) {
            if (is(j, Keyword.ALL)) {
                effect(SessionEffect.ResetAll.INSTANCE);
            } else if (is(j, Keyword.TIME) && is(j + 1, Keyword.ZONE)) {
                effect(new SessionEffect.ResetParameter("timezone"));
            } else if (is(j, Keyword.SESSION) && is(j + 1, Keyword.AUTHORIZATION)) {
                effect(new SessionEffect.ResetParameter("session_authorization"));
            } else if (isName(j)) {
                StringBuilder qualified = new StringBuilder(name(j));
                for (int k = j + 1; k + 1 < n && tType[k] == DOT && isName(k + 1); k += 2) {
                    qualified.append('.').append(name(k + 1));
                }
                effect(new SessionEffect.ResetParameter(qualified.toString()));
            }
        }

        /** CREATE [OR REPLACE] [GLOBAL|LOCAL] TEMP TABLE/VIEW/SEQUENCE, or one in schema pg_temp. */
        private void createTemporary(int j) {
            if (is(j, Keyword.OR) && is(j + 1, Keyword.REPLACE)) {
                j += 2;
            }
            if (is(j, Keyword.GLOBAL) || is(j, Keyword.LOCAL)) {
                j++;
            }
            boolean temporary = is(j, Keyword.TEMP) || is(j, Keyword.TEMPORARY);
            if (temporary) {
                j++;
            }
            if (is(j, Keyword.UNLOGGED) || is(j, Keyword.RECURSIVE)) {
                j++;
            }
            String what = is(j, Keyword.TABLE) ? "table" : is(j, Keyword.VIEW) ? "view"
                    : is(j, Keyword.SEQUENCE) ? "sequence" : null;
            if (what == null) {
                return;
            }
            int nameAt = j + 1;
            if (wordIs(nameAt, "if") && is(nameAt + 1, Keyword.NOT) && is(nameAt + 2, Keyword.EXISTS)) {
                nameAt += 3;
            }
            temporary |= wordIs(nameAt, "pg_temp") && nameAt + 1 < n && tType[nameAt + 1] == DOT;
            if (!temporary) {
                return;
            }
            for (int i = nameAt; i + 2 < n; i++) {
                if (is(i, Keyword.ON) && is(i + 1, Keyword.COMMIT) && is(i + 2, Keyword.DROP)) {
                    return; // gone at commit: nothing outlives the transaction
                }
            }
            effect(new SessionEffect.Pin("temporary " + what));
        }
    }
}
