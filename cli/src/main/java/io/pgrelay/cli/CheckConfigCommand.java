package io.pgrelay.cli;

import io.pgrelay.conf.ConfigException;
import io.pgrelay.conf.ConfigLoader;
import io.pgrelay.conf.PgRelayConfig;
import io.pgrelay.conf.RoutingConfig;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code pgrelay check-config FILE}: validates a configuration as {@code serve} would, without starting. */
@Command(name = "check-config", mixinStandardHelpOptions = true,
        description = "Validate a configuration file (with PGRELAY_* environment overrides) and explain any error. "
                + "Exits 0 when it is valid, 78 when it is not.")
final class CheckConfigCommand implements Callable<Integer> {
    @Parameters(paramLabel = "FILE", description = "the YAML configuration file")
    Path file;

    @Override
    public Integer call() {
        try {
            PgRelayConfig config = ConfigLoader.load(Optional.of(file), System.getenv(), Map.of());
            System.out.println(file + ": OK");
            System.out.println("  listen " + config.listen() + ", pool " + config.pool().mode().configName()
                    + " size " + config.pool().size() + ", " + config.nodes().size() + " node(s):");
            config.nodes().forEach(n -> System.out.println("    " + n.name() + " " + n.role().name().toLowerCase()
                    + " " + n.address()));
            RoutingConfig r = config.routing();
            System.out.println("  routing consistency " + r.consistency().name().toLowerCase() + " ("
                    + (r.databaseConsistency().size() + r.userConsistency().size()) + " per database or user), "
                    + r.readOnlyFunctions().size() + " read-only and " + r.writeFunctions().size()
                    + " write function name(s), on_no_replica " + r.onNoReplica().name().toLowerCase());
            return 0;
        } catch (ConfigException e) {
            System.err.println(file + ": invalid configuration");
            e.problems().forEach(p -> System.err.println("  - " + p));
            return PgRelayCli.EXIT_CONFIG;
        }
    }
}
