package io.pgrelay.router.classify;

import io.pgrelay.router.sql.SqlAnalysis;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import net.sf.jsqlparser.JSQLParserException;
import net.sf.jsqlparser.expression.Function;
import net.sf.jsqlparser.parser.CCJSqlParserUtil;
import net.sf.jsqlparser.statement.Statement;
import net.sf.jsqlparser.statement.delete.Delete;
import net.sf.jsqlparser.statement.insert.Insert;
import net.sf.jsqlparser.statement.merge.Merge;
import net.sf.jsqlparser.statement.select.PlainSelect;
import net.sf.jsqlparser.statement.select.Select;
import net.sf.jsqlparser.statement.select.WithItem;
import net.sf.jsqlparser.statement.update.Update;
import net.sf.jsqlparser.util.TablesNamesFinder;

/**
 * Refines the lexer's verdict with a full parse by JSqlParser (about 0.5-2 ms a statement, so never
 * on an event loop). It promotes an UNKNOWN_FUNCTION or WRITING_CTE verdict to a replica only when
 * the parse shows a plain query: no write anywhere, no row lock, no INTO, and every function call
 * safe; the lexer may have read an alias's column list or a column named {@code update} as
 * something worse. It demotes a replica verdict when the parse finds an unsafe function the lexer
 * missed. A text it cannot parse within the timeout keeps the lexer's verdict, which is
 * conservative by construction.
 */
public final class JSqlParserRefiner implements Refiner {
    private final ExecutorService parseThread;
    private final long timeoutMillis;

    /**
     * @param parseThread runs each parse so that it can be abandoned after {@code timeout}; a single
     *                    daemon thread is enough
     */
    public JSqlParserRefiner(ExecutorService parseThread, Duration timeout) {
        this.parseThread = parseThread;
        this.timeoutMillis = timeout.toMillis();
    }

    @Override
    public Classification refine(String sql, SqlAnalysis analysis, Classification lexer, FunctionSafety functions) {
        Statement statement;
        try {
            statement = CCJSqlParserUtil.parse(sql, parseThread, p -> p.withTimeOut(timeoutMillis));
        } catch (JSQLParserException e) {
            return null;
        }
        if (!(statement instanceof Select select)) {
            return lexer.replicaSafe() ? new Classification(Reason.OTHER_STATEMENT, "parser: not a query") : null;
        }
        Findings found = new Findings();
        try {
            found.inspect(select);
        } catch (RuntimeException e) {
            // The finder throws for constructs it does not support: no proof either way.
            return null;
        }
        for (String f : found.functions) {
            Reason unsafe = functions.check(f);
            if (unsafe != null) {
                return lexer.replicaSafe() ? new Classification(unsafe, f + " (parser)") : null;
            }
        }
        if (found.write != null) {
            return lexer.replicaSafe() ? new Classification(Reason.WRITING_CTE, found.write + " (parser)") : null;
        }
        if (found.lockOrInto) {
            return null; // the lexer reports these itself; nothing to promote
        }
        if (Refiner.promotable(lexer)) {
            return new Classification(Reason.READ_ONLY_SELECT, "parser: " + lexer.reason() + " " + lexer.detail() + " overruled");
        }
        return null;
    }

    /** Walks a parsed query for function calls, writes, row locks and INTO. */
    private static final class Findings extends TablesNamesFinder<Void> {
        final List<String> functions = new ArrayList<>();
        String write;
        boolean lockOrInto;

        void inspect(Select select) {
            init(false);
            checkWithItems(select);
            select.accept((net.sf.jsqlparser.statement.StatementVisitor<Void>) this, null);
        }

        private void checkWithItems(Select select) {
            if (select.getWithItemsList() == null) {
                return;
            }
            for (WithItem<?> item : select.getWithItemsList()) {
                if (!(item.getParenthesedStatement() instanceof Select)) {
                    write = "data-modifying WITH";
                }
            }
        }

        @Override
        public <S> Void visit(Function function, S context) {
            List<String> parts = function.getMultipartName();
            StringBuilder name = new StringBuilder();
            for (String part : parts) {
                if (!name.isEmpty()) {
                    name.append('.');
                }
                boolean quoted = part.length() > 1 && part.startsWith("\"") && part.endsWith("\"");
                name.append(quoted ? part.substring(1, part.length() - 1) : part.toLowerCase(Locale.ROOT));
            }
            functions.add(name.toString());
            return super.visit(function, context);
        }

        @Override
        public <S> Void visit(Select select, S context) {
            checkWithItems(select);
            lockOrInto |= select.getForMode() != null;
            return super.visit(select, context);
        }

        @Override
        public <S> Void visit(PlainSelect select, S context) {
            checkWithItems(select);
            lockOrInto |= select.getForMode() != null || select.getIntoTables() != null;
            return super.visit(select, context);
        }

        /** A write anywhere decides the matter: no need to look inside it. */
        private Void wrote(String what) {
            write = what;
            return null;
        }

        @Override
        public <S> Void visit(Insert insert, S context) {
            return wrote("insert");
        }

        @Override
        public <S> Void visit(Update update, S context) {
            return wrote("update");
        }

        @Override
        public <S> Void visit(Delete delete, S context) {
            return wrote("delete");
        }

        @Override
        public <S> Void visit(Merge merge, S context) {
            return wrote("merge");
        }
    }
}
