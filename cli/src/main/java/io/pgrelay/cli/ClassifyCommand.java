package io.pgrelay.cli;

import io.pgrelay.router.classify.Classification;
import io.pgrelay.router.classify.FunctionSafety;
import io.pgrelay.router.classify.JSqlParserRefiner;
import io.pgrelay.router.classify.Refiner;
import io.pgrelay.router.classify.StatementClassifier;
import io.pgrelay.router.sql.SqlAnalysis;
import io.pgrelay.router.sql.SqlLexer;
import io.pgrelay.server.http.Json;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code pgrelay classify "SQL"}: where the router would send a statement, and why. */
@Command(name = "classify", mixinStandardHelpOptions = true,
        description = "Show the routing decision for a SQL text (REPLICA or PRIMARY), its reason and fingerprint. "
                + "Functions are judged by the built-in lists and the ones given here; no catalog is read.")
final class ClassifyCommand implements Callable<Integer> {
    @Parameters(paramLabel = "SQL", description = "the statement text, as a client would send it")
    String sql;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @Option(names = "--allow-function", paramLabel = "NAME", description = "treat this function as read-only (repeatable)")
    List<String> allow = new ArrayList<>();

    @Option(names = "--deny-function", paramLabel = "NAME", description = "treat this function as writing (repeatable)")
    List<String> deny = new ArrayList<>();

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        FunctionSafety functions = FunctionSafety.of(List.of(), allow, deny);
        SqlAnalysis analysis = SqlLexer.analyze(sql);
        Classification lexer = new StatementClassifier(functions).classify(analysis);
        Classification verdict = lexer;
        if (Refiner.worthRefining(analysis, lexer)) {
            // The same second opinion the server runs in the background, here in the foreground.
            ExecutorService parse = Executors.newSingleThreadExecutor();
            try {
                Classification refined = new JSqlParserRefiner(parse, Duration.ofSeconds(5))
                        .refine(sql, analysis, lexer, functions);
                if (refined != null && Refiner.allowed(lexer, refined)) {
                    verdict = refined;
                }
            } finally {
                parse.shutdownNow();
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        String decision = verdict.replicaSafe() ? "REPLICA" : "PRIMARY";
        if (json) {
            out.println("{\"decision\":\"" + decision + "\",\"reason\":\"" + verdict.reason() + "\",\"detail\":"
                    + Json.quote(verdict.detail()) + ",\"fingerprint\":\"" + analysis.fingerprint() + "\",\"statements\":"
                    + analysis.statements().size() + ",\"effects\":["
                    + analysis.effects().stream().map(e -> Json.quote(e.toString())).collect(Collectors.joining(","))
                    + "],\"refined\":" + (verdict != lexer) + "}");
        } else {
            out.println(decision + " " + verdict.reason() + (verdict.detail().isEmpty() ? "" : " (" + verdict.detail() + ")"));
            out.println("fingerprint " + analysis.fingerprint());
            if (verdict != lexer) {
                out.println("lexer said " + lexer + "; JSqlParser's parse overruled it");
            }
            analysis.effects().forEach(e -> out.println("session effect " + e));
        }
        out.flush();
        return 0;
    }
}
