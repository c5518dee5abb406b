package io.pgrelay.conf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code log.level} and {@code log.format} keys from every source, and their errors. */
class LogConfigTest {
    private static final Map<String, String> PRIMARY = Map.of("primary", "127.0.0.1:5432");

    @TempDir
    Path dir;

    private static PgRelayConfig load(Optional<Path> file, Map<String, String> env, Map<String, String> flags) {
        Map<String, String> all = new java.util.HashMap<>(PRIMARY);
        all.putAll(flags);
        return ConfigLoader.load(file, env, all);
    }

    @Test
    void defaultsAreInfoAndText() {
        assertEquals(new LogConfig(LogConfig.Level.INFO, LogConfig.Format.TEXT), load(Optional.empty(), Map.of(),
                Map.of()).log());
    }

    @Test
    void fileEnvironmentAndFlagsEachSetThem() throws IOException {
        Path file = Files.writeString(dir.resolve("p.yaml"), "log:\n  level: WARN\n  format: json\n");
        assertEquals(new LogConfig(LogConfig.Level.WARN, LogConfig.Format.JSON),
                load(Optional.of(file), Map.of(), Map.of()).log());
        assertEquals(new LogConfig(LogConfig.Level.DEBUG, LogConfig.Format.JSON),
                load(Optional.of(file), Map.of("PGRELAY_LOG_LEVEL", "debug"), Map.of()).log());
        assertEquals(new LogConfig(LogConfig.Level.ERROR, LogConfig.Format.TEXT), load(Optional.of(file),
                Map.of("PGRELAY_LOG_LEVEL", "debug"), Map.of("log.level", "error", "log.format", "text")).log());
    }

    @Test
    void badValuesNameTheKeyTheSourceAndTheChoices() throws IOException {
        ConfigException env = assertThrows(ConfigException.class,
                () -> load(Optional.empty(), Map.of("PGRELAY_LOG_FORMAT", "xml"), Map.of()));
        assertEquals(List.of("log.format (from environment PGRELAY_LOG_FORMAT): 'xml' is not allowed; use text or json"),
                env.problems());

        Path file = Files.writeString(dir.resolve("bad.yaml"), "log:\n  level: verbose\n  colour: yes\n");
        ConfigException e = assertThrows(ConfigException.class, () -> load(Optional.of(file), Map.of(), Map.of()));
        assertEquals(2, e.problems().size(), e.problems()::toString);
        assertTrue(e.problems().stream().anyMatch(p -> p.startsWith("unknown key log.colour (from " + file + ":3)")),
                e.problems()::toString);
        assertTrue(e.problems().contains("log.level (from " + file + ":2): 'verbose' is not allowed; "
                + "use trace, debug, info, warn or error"), e.problems()::toString);
    }
}
