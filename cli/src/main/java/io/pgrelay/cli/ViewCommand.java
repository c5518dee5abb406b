package io.pgrelay.cli;

import io.pgrelay.cli.AdminClient.AdminException;
import java.io.PrintWriter;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;

/** {@code pgrelay pools|clients|stats|nodes}: one of the admin API's views as an aligned table, or its JSON. */
abstract class ViewCommand extends AdminCommand {
    private final String endpoint;

    ViewCommand(String endpoint) {
        this.endpoint = endpoint;
    }

    @Override
    @SuppressWarnings("unchecked")
    void run(AdminClient client, PrintWriter out) throws AdminException {
        String body = client.call("GET", endpoint);
        if (json) {
            out.print(body);
            return;
        }
        List<Map<String, Object>> rows;
        try {
            rows = (List<Map<String, Object>>) JsonReader.parse(body);
        } catch (IllegalArgumentException | ClassCastException e) {
            throw new AdminException(client.base() + " did not answer GET /api/v1/" + endpoint
                    + " with a JSON array: " + e.getMessage());
        }
        out.print(rows.isEmpty() ? "(no " + endpoint + ")\n" : Table.render(rows));
    }

    @Command(name = "pools", mixinStandardHelpOptions = true,
            description = "Show the pools of the running pgrelay: clients and server connections per (database, user, node).")
    static final class Pools extends ViewCommand {
        Pools() {
            super("pools");
        }
    }

    @Command(name = "clients", mixinStandardHelpOptions = true,
            description = "Show the client connections of the running pgrelay.")
    static final class Clients extends ViewCommand {
        Clients() {
            super("clients");
        }
    }

    @Command(name = "stats", mixinStandardHelpOptions = true,
            description = "Show logins, server connections opened, queries and transactions per (database, user).")
    static final class Stats extends ViewCommand {
        Stats() {
            super("stats");
        }
    }

    @Command(name = "nodes", mixinStandardHelpOptions = true,
            description = "Show the PostgreSQL nodes the running pgrelay routes to: role and state.")
    static final class Nodes extends ViewCommand {
        Nodes() {
            super("nodes");
        }
    }
}
