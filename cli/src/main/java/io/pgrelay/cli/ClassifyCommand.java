package io.pgrelay.cli;

import io.pgrelay.conf.ConfigException;
import io.pgrelay.conf.ConfigLoader;
import io.pgrelay.conf.RoutingConfig;
import io.pgrelay.router.classify.Classification;
import io.pgrelay.router.classify.FunctionSafety;
import io.pgrelay.router.classify.JSqlParserRefiner;
import io.pgrelay.router.classify.Refiner;
import io.pgrelay.router.classify.StatementClassifier;
import io.pgrelay.router.sql.SqlAnalysis;
import io.pgrelay.router.sql.SqlLexer;
import io.pgrelay.server.http.Json;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
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
                + "Functions are judged by the built-in lists, the ones given here and those of --config; no catalog is "
                + "read.")
final class ClassifyCommand implements Callable<Integer> {
    @Parameters(paramLabel = "SQL", description = "the statement text, as a client would send it")
    String sql;

    @Option(names = "--json", description = "print one JSON object")
    boolean json;

    @Option(names = "--allow-function", paramLabel = "NAME", description = "treat this function as read-only (repeatable)")
    List<String> allow = new ArrayList<>();

    @Option(names = "--deny-function", paramLabel = "NAME", description = "treat this function as writing (repeatable)")
    List<String> deny = new ArrayList<>();

    @Option(names = "--config", paramLabel = "FILE", description = "also apply the configuration's "
            + "routing.read_only_functions and routing.write_functions (with PGRELAY_* overrides)")
    Path config;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        List<String> readOnly = new ArrayList<>(allow);
        List<String> write = new ArrayList<>(deny);
        if (config != null) {
            try {
                RoutingConfig routing = ConfigLoader.load(Optional.of(config), System.getenv(), Map.of()).routing();
                readOnly.addAll(routing.readOnlyFunctions());
                write.addAll(routing.writeFunctions());
            } catch (ConfigException e) {
                PrintWriter err = spec.commandLine().getErr();
                err.println(config + ": invalid configuration");
                e.problems().forEach(p -> err.println("  - " + p));
                err.flush();
                return PgRelayCli.EXIT_CONFIG;
            }
        }
        FunctionSafety functions = FunctionSafety.of(List.of(), readOnly, write);
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
