package io.pgrelay.cli;

import io.pgrelay.cli.AdminClient.AdminException;
import io.pgrelay.conf.ConfigException;
import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * A command that talks to a running pgrelay through its admin API. Exit codes: 0 done, 1 pgrelay
 * unreachable or refusing (the message names the URL), 2 usage, 78 invalid configuration file.
 */
abstract class AdminCommand implements Callable<Integer> {
    @Mixin
    AdminOptions admin;

    @Option(names = "--json", description = "print the admin API's JSON as it comes, for scripts")
    boolean json;

    @Spec
    CommandSpec spec;

    /** Environment the options fall back on; the tests replace it. */
    Map<String, String> env = System.getenv();

    /** Does the work with {@code client}, printing to {@code out}. */
    abstract void run(AdminClient client, PrintWriter out) throws AdminException;

    @Override
    public final Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        AdminClient client;
        try {
            client = admin.client(env);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        } catch (ConfigException e) {
            err.println("pgrelay " + spec.name() + ": invalid configuration");
            e.problems().forEach(p -> err.println("  - " + p));
            err.flush();
            return PgRelayCli.EXIT_CONFIG;
        }
        try {
            run(client, out);
            out.flush();
            return 0;
        } catch (AdminException e) {
            err.println("pgrelay " + spec.name() + ": " + e.getMessage());
            err.flush();
            return PgRelayCli.EXIT_FAILURE;
        }
    }
}
