package io.pgrelay.cli;

import io.pgrelay.cli.AdminClient.AdminException;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code pgrelay pause|resume [--database DB]}: PAUSE and RESUME of the admin console, through the admin API. */
abstract class PauseResumeCommand extends AdminCommand {
    @Option(names = "--database", paramLabel = "DB", description = "only this database (default: every database)")
    String database;

    private final String action;

    PauseResumeCommand(String action) {
        this.action = action;
    }

    @Override
    void run(AdminClient client, PrintWriter out) throws AdminException {
        String body = client.call("POST", action
                + (database == null ? "" : "?database=" + URLEncoder.encode(database, StandardCharsets.UTF_8)));
        if (json) {
            out.print(body);
            return;
        }
        String what = database == null ? "all databases" : "database " + database;
        out.println(action + "d " + what);
        if (JsonReader.parse(body) instanceof Map<?, ?> m && m.get("still_leased") instanceof Double leased
                && leased > 0) {
            long n = leased.longValue();
            out.println("note: " + n + " server connection" + (n == 1 ? " is" : "s are")
                    + " still leased; they are not interrupted, new leases wait");
        }
    }

    @Command(name = "pause", mixinStandardHelpOptions = true,
            description = "Make new server leases wait (as PAUSE on the admin console) until 'pgrelay resume'; "
                    + "returns once no server connection is leased, or after 10 s.")
    static final class Pause extends PauseResumeCommand {
        Pause() {
            super("pause");
        }
    }

    @Command(name = "resume", mixinStandardHelpOptions = true, description = "End a pause.")
    static final class Resume extends PauseResumeCommand {
        Resume() {
            super("resume");
        }
    }
}
