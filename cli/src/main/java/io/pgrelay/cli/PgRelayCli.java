package io.pgrelay.cli;

import io.pgrelay.cli.demo.DemoCommand;
import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code pgrelay} command. Exit codes: 0 success, 1 runtime failure, 2 usage error,
 * 78 invalid configuration (EX_CONFIG).
 */
@Command(name = "pgrelay",
        mixinStandardHelpOptions = true,
        versionProvider = PgRelayCli.Version.class,
        description = "PostgreSQL connection pooler and read/write router.",
        subcommands = {ServeCommand.class, CheckConfigCommand.class, PasswdCommand.class, CompletionCommand.class,
            ClassifyCommand.class, ViewCommand.Pools.class, ViewCommand.Clients.class, ViewCommand.Stats.class,
            ViewCommand.Nodes.class, PauseResumeCommand.Pause.class, PauseResumeCommand.Resume.class,
            DemoCommand.class, ReloadCommand.class,
            NodeCommand.Promote.class, NodeCommand.Attach.class, NodeCommand.Detach.class,
            CommandLine.HelpCommand.class})
public final class PgRelayCli implements Runnable {
    /** Exit code for an invalid configuration, as sysexits.h's EX_CONFIG. */
    static final int EXIT_CONFIG = 78;
    static final int EXIT_FAILURE = 1;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line, shared by main and the tests. */
    public static CommandLine commandLine() {
        return new CommandLine(new PgRelayCli());
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is required; see 'pgrelay --help'");
    }

    /** The version from the build, e.g. {@code pgrelay 0.1.0}. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() throws IOException {
            Properties p = new Properties();
            try (InputStream in = PgRelayCli.class.getResourceAsStream("/pgrelay-version.properties")) {
                if (in != null) {
                    p.load(in);
                }
            }
            return new String[] {"pgrelay " + p.getProperty("version", "unknown"),
                    "Java " + Runtime.version() + " (" + System.getProperty("java.vm.name") + ")"};
        }
    }
}
