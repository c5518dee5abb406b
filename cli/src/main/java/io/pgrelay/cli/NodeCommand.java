package io.pgrelay.cli;

import io.pgrelay.cli.AdminClient.AdminException;
import java.io.PrintWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code pgrelay promote|attach|detach NODE}: the operator's node control, through
 * {@code POST /api/v1/nodes/NODE/<action>}. A refusal exits 1 with the failover controller's reason.
 */
abstract class NodeCommand extends AdminCommand {
    @Parameters(index = "0", paramLabel = "NODE", description = "the node's name, as 'pgrelay nodes' shows it")
    String node;

    private final String action;

    NodeCommand(String action) {
        this.action = action;
    }

    @Override
    void run(AdminClient client, PrintWriter out) throws AdminException {
        String body = client.call("POST", "nodes/" + URLEncoder.encode(node, StandardCharsets.UTF_8).replace("+", "%20")
                + "/" + action);
        if (json) {
            out.print(body);
            return;
        }
        if (JsonReader.parse(body) instanceof Map<?, ?> m && m.get("message") instanceof String message) {
            out.println(message);
        } else {
            throw new AdminException(client.base() + " did not answer " + action + " with a JSON object: " + body);
        }
    }

    @Command(name = "promote", mixinStandardHelpOptions = true,
            description = "Promote the standby NODE now; refused while a primary is in service.")
    static final class Promote extends NodeCommand {
        Promote() {
            super("promote");
        }
    }

    @Command(name = "attach", mixinStandardHelpOptions = true,
            description = "Put a DETACHED or FENCED NODE back in service after checking it.")
    static final class Attach extends NodeCommand {
        Attach() {
            super("attach");
        }
    }

    @Command(name = "detach", mixinStandardHelpOptions = true,
            description = "Take NODE out of service; refused for the primary in service.")
    static final class Detach extends NodeCommand {
        Detach() {
            super("detach");
        }
    }
}
