package io.pgrelay.server.reload;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.conf.ConfigLoader;
import io.pgrelay.conf.PgRelayConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReloaderTest {
    private static final String BASE = "listen: 127.0.0.1:6432\nprimary: 127.0.0.1:5432\n";

    @TempDir
    Path dir;

    private Path file(String yaml) throws IOException {
        Path f = dir.resolve("pgrelay.yaml");
        Files.writeString(f, BASE + yaml);
        return f;
    }

    private static PgRelayConfig load(Path f, Map<String, String> flags) {
        return ConfigLoader.load(Optional.of(f), Map.of(), flags);
    }

    @Test
    void poolSizeIsAppliedAndListenNeedsARestart() throws IOException {
        Path f = file("pool:\n  size: 2\n");
        List<PgRelayConfig> loaded = new ArrayList<>();
        Reloader reloader = new Reloader(load(f, Map.of())).onLoaded(loaded::add);
        List<Integer> applied = new ArrayList<>();
        reloader.source(() -> load(f, Map.of())).live(LiveKeys::pool, next -> applied.add(next.pool().size()));
        Files.writeString(f, "listen: 127.0.0.1:7432\nprimary: 127.0.0.1:5432\npool:\n  size: 5\n");

        ReloadResult r = reloader.reload();

        assertEquals(List.of(), r.errors());
        assertEquals(List.of(
                new ReloadResult.KeyChange("listen", "127.0.0.1:6432", "127.0.0.1:7432", ReloadResult.RESTART_NEEDED),
                new ReloadResult.KeyChange("pool.size", "2", "5", ReloadResult.APPLIED)), r.changed());
        assertEquals(List.of(5), applied, "the pool handler runs once, with the new configuration");
        assertEquals(5, reloader.current().pool().size());
        assertEquals(List.of(reloader.current()), loaded);
        assertEquals("{\"changed\":[{\"key\":\"listen\",\"old\":\"127.0.0.1:6432\",\"new\":\"127.0.0.1:7432\","
                + "\"status\":\"restart_needed\"},{\"key\":\"pool.size\",\"old\":\"2\",\"new\":\"5\","
                + "\"status\":\"applied\"}],\"errors\":[]}", r.toJson());
    }

    @Test
    void invalidFileChangesNothingAndNamesTheKey() throws IOException {
        Path f = file("pool:\n  size: 2\n");
        List<PgRelayConfig> applied = new ArrayList<>();
        Reloader reloader = new Reloader(load(f, Map.of())).onLoaded(applied::add);
        reloader.source(() -> load(f, Map.of())).live(LiveKeys::pool, applied::add);
        Files.writeString(f, BASE + "pool:\n  size: -1\n  sise: 4\n");

        ReloadResult r = reloader.reload();

        assertFalse(r.ok());
        assertTrue(r.errors().stream().anyMatch(e -> e.contains("pool.size")), r.errors().toString());
        assertTrue(r.errors().stream().anyMatch(e -> e.contains("pool.sise")), r.errors().toString());
        assertEquals(List.of(), r.changed());
        assertEquals(List.of(), applied);
        assertEquals(2, reloader.current().pool().size());
    }

    @Test
    void flagsKeepPrecedenceOverTheReloadedFile() throws IOException {
        Path f = file("pool:\n  size: 2\n");
        Map<String, String> flags = Map.of("pool.size", "3");
        Reloader reloader = new Reloader(load(f, flags)).source(() -> load(f, flags));
        Files.writeString(f, BASE + "pool:\n  size: 9\n");

        ReloadResult r = reloader.reload();

        assertEquals(List.of(), r.changed());
        assertEquals(3, reloader.current().pool().size());
    }

    @Test
    void perDatabaseSizeIsLiveButItsModeIsNot() throws IOException {
        Path f = file("databases:\n  - name: app\n    pool_size: 2\n");
        Reloader reloader = new Reloader(load(f, Map.of()));
        reloader.source(() -> load(f, Map.of())).live(LiveKeys::pool, next -> { });
        Files.writeString(f, BASE + "databases:\n  - name: app\n    pool_size: 4\n    pool_mode: transaction\n");

        ReloadResult r = reloader.reload();

        assertEquals(List.of(
                new ReloadResult.KeyChange("databases[app].mode", "", "transaction", ReloadResult.RESTART_NEEDED),
                new ReloadResult.KeyChange("databases[app].size", "2", "4", ReloadResult.APPLIED)), r.changed());
    }

    @Test
    void secretsAreMasked() throws IOException {
        Path f = file("monitor:\n  user: mon\n  password: first-secret\n");
        Reloader reloader = new Reloader(load(f, Map.of())).source(() -> load(f, Map.of()));
        Files.writeString(f, BASE + "monitor:\n  user: mon\n  password: second-secret\n");

        ReloadResult r = reloader.reload();

        assertEquals(List.of(new ReloadResult.KeyChange("monitor.password", ConfigDiff.MASK, ConfigDiff.MASK,
                ReloadResult.RESTART_NEEDED)), r.changed());
        assertFalse(r.toJson().contains("secret"));
    }

    @Test
    void withoutASourceTheReloadIsRefused() throws IOException {
        Reloader reloader = new Reloader(load(file(""), Map.of()));
        assertEquals(List.of("pgrelay was started without a configuration to re-read"), reloader.reload().errors());
    }
}
