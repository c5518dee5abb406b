package io.pgrelay.cli;

import io.pgrelay.cli.AdminClient.AdminException;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Command;

/** {@code pgrelay reload}: re-reads the running pgrelay's configuration through the admin API. */
@Command(name = "reload", mixinStandardHelpOptions = true,
        description = "Re-read the configuration of the running pgrelay (as SIGHUP does): print each changed key "
                + "and whether it was applied or needs a restart; an invalid file changes nothing and exits 1.")
final class ReloadCommand extends AdminCommand {
    @Override
    void run(AdminClient client, PrintWriter out) throws AdminException {
        String body = client.call("POST", "reload");
        if (json) {
            out.print(body);
            return;
        }
        if (!(JsonReader.parse(body) instanceof Map<?, ?> m) || !(m.get("changed") instanceof List<?> changed)) {
            throw new AdminException("pgrelay at " + client.base() + " answered reload with " + body.strip());
        }
        if (changed.isEmpty()) {
            out.println("no change");
            return;
        }
        List<Map<String, Object>> rows = changed.stream().map(c -> {
            Map<?, ?> row = (Map<?, ?>) c;
            Map<String, Object> r = new LinkedHashMap<>();
            for (String column : List.of("key", "old", "new", "status")) {
                r.put(column, row.get(column));
            }
            return r;
        }).toList();
        out.print(Table.render(rows));
    }
}
