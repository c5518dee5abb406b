package io.pgrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Where the admin commands look for pgrelay and its token, and how they fail when it is not there. */
class AdminCommandTest {
    @TempDir
    Path dir;

    private AdminClient client(Map<String, String> env, String... args) {
        AdminOptions o = new AdminOptions();
        new CommandLine(o).parseArgs(args);
        return o.client(env);
    }

    private Path config(String adminListen, String token) throws Exception {
        return Files.writeString(dir.resolve("pgrelay.yaml"), "primary: \"127.0.0.1:5432\"\n"
                + "admin:\n  listen: \"" + adminListen + "\"\n  token: \"" + token + "\"\n");
    }

    @Test
    void theFlagBeatsTheEnvironmentWhichBeatsTheConfigurationFile() throws Exception {
        Path file = config("127.0.0.1:7001", "file-token-0123456789abcdef");
        Map<String, String> env = Map.of("PGRELAY_ADMIN", "127.0.0.1:7002", "PGRELAY_ADMIN_TOKEN", "env-token-0123456789");

        AdminClient flags = client(env, "--admin", "http://127.0.0.1:7003/", "--token", "t", "--config", file.toString());
        assertEquals("http://127.0.0.1:7003", flags.base().toString());
        assertEquals("http://127.0.0.1:7002", client(env, "--config", file.toString()).base().toString());
        assertEquals("http://127.0.0.1:7001", client(Map.of(), "--config", file.toString()).base().toString());
        assertEquals("http://127.0.0.1:7001",
                client(Map.of("PGRELAY_CONFIG", file.toString())).base().toString(), "PGRELAY_CONFIG names the file");
        assertEquals(AdminOptions.DEFAULT_ADMIN, client(Map.of()).base().toString());
    }

    @Test
    void theTokenComesFromTheFlagTheEnvironmentOrTheFile() throws Exception {
        Path file = config("127.0.0.1:7001", "file-token-0123456789abcdef");
        assertEquals(Optional.of("file-token-0123456789abcdef"), token(Map.of(), "--config", file.toString()));
        assertEquals(Optional.of("env-token-0123456789abcdef"), token(Map.of("PGRELAY_ADMIN_TOKEN", "env-token-0123456789abcdef"), "--config",
                file.toString()));
        assertEquals(Optional.of("flag"), token(Map.of("PGRELAY_ADMIN_TOKEN", "env-token-0123456789abcdef"), "--token", "flag"));
        assertEquals(Optional.empty(), token(Map.of()));
    }

    private Optional<String> token(Map<String, String> env, String... args) {
        return client(env, args).token();
    }

    @Test
    void anUnreachableAdminEndpointExits1NamingTheUrl() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        for (String command : new String[] {"pools", "clients", "stats", "nodes", "pause", "resume", "reload"}) {
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            CommandLine cli = PgRelayCli.commandLine().setOut(new PrintWriter(out)).setErr(new PrintWriter(err));

            int exit = cli.execute(command, "--admin", "127.0.0.1:" + port);

            assertEquals(1, exit, command + ": " + err);
            assertTrue(err.toString().startsWith("pgrelay " + command + ": cannot reach pgrelay's admin endpoint at "
                    + "http://127.0.0.1:" + port + ": connection refused; is pgrelay running there?"), err::toString);
            assertEquals("", out.toString());
        }
    }

    @Test
    void aBadUrlIsAUsageErrorAndABadConfigurationExits78() throws Exception {
        StringWriter err = new StringWriter();
        CommandLine cli = PgRelayCli.commandLine().setErr(new PrintWriter(err));
        assertEquals(2, cli.execute("pools", "--admin", "ftp://127.0.0.1:1"));
        assertTrue(err.toString().contains("must be http://HOST:PORT, not ftp://127.0.0.1:1"), err::toString);

        Path bad = Files.writeString(dir.resolve("bad.yaml"), "primary: \"127.0.0.1:5432\"\nadmin:\n  lisen: x\n");
        StringWriter err2 = new StringWriter();
        assertEquals(78, PgRelayCli.commandLine().setErr(new PrintWriter(err2)).execute("nodes", "--config",
                bad.toString()));
        assertTrue(err2.toString().contains("admin.lisen"), err2::toString);
    }
}
