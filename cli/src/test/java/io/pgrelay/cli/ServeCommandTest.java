package io.pgrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.conf.ConfigException;
import io.pgrelay.conf.ConfigLoader;
import io.pgrelay.conf.PgRelayConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ServeCommandTest {
    @TempDir
    Path dir;

    private static ServeCommand parse(String... args) {
        ServeCommand serve = new ServeCommand();
        new CommandLine(serve).parseArgs(args);
        return serve;
    }

    @Test
    void failoverFlagsOverrideTheFileAndTheEnvironment() throws Exception {
        Path file = Files.writeString(dir.resolve("pgrelay.yaml"),
                "primary: 127.0.0.1:5432\nfailover:\n  grace_period: 20s\n  wait_timeout: 40s\n");
        ServeCommand serve = parse("--failover-grace-period", "750ms", "--failover-wait-timeout", "3s");
        PgRelayConfig config = ConfigLoader.load(Optional.of(file),
                Map.of("PGRELAY_FAILOVER_GRACE_PERIOD", "15s"), serve.overrides());
        assertEquals(Duration.ofMillis(750), config.failover().gracePeriod());
        assertEquals(Duration.ofSeconds(3), config.failover().waitTimeout());

        PgRelayConfig fromFile = ConfigLoader.load(Optional.of(file), Map.of(), parse().overrides());
        assertEquals(Duration.ofSeconds(20), fromFile.failover().gracePeriod());
        assertEquals(Duration.ofSeconds(40), fromFile.failover().waitTimeout());
    }

    @Test
    void aBadGracePeriodNamesTheKey() {
        ServeCommand serve = parse("--primary", "127.0.0.1:5432", "--failover-grace-period", "soon");
        ConfigException e = assertThrows(ConfigException.class,
                () -> ConfigLoader.load(Optional.empty(), Map.of(), serve.overrides()));
        assertTrue(e.problems().stream().anyMatch(p -> p.contains("failover.grace_period") && p.contains("soon")),
                e.problems()::toString);
    }
}
