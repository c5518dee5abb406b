package io.pgrelay.it.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.cli.RelayProcess.Result;
import io.pgrelay.it.fixture.PgCluster;
import io.pgrelay.it.fixture.PgClusterSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * No password reaches pgrelay's log, even at DEBUG for pgrelay and Netty: not one given to
 * {@code pgrelay passwd}, not one in the users file, not the one pgrelay logs in to PostgreSQL
 * with, and not a wrong one a client tried.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SecretsNotLoggedIT {
    /** Distinctive, so that a hit can only be the password; letters and digits, so no log escaping hides one. */
    private static final String PASSWD_PASSWORD = "PasswdOnly7f3a91";
    private static final String FILE_PASSWORD = "FilePlain52c8de";
    private static final String WRONG_PASSWORD = "WrongGuess0b6e44";

    @TempDir
    Path dir;

    @Test
    void noPasswordInAnyLogLineAtDebug() throws Exception {
        RelayProcess.jar();
        Result passwd = RelayProcess.runWithInput(PASSWD_PASSWORD + "\n", "passwd", "vault");
        assertEquals(0, passwd.exit(), passwd::toString);
        String line = passwd.stdout().strip();
        String verifier = line.substring("vault: ".length());
        assertTrue(verifier.startsWith("SCRAM-SHA-256$"), line);

        try (PgCluster pg = PgCluster.start(PgClusterSpec.defaults())) {
            // PostgreSQL keeps a SCRAM verifier given as the password as it is, so both hold the same one.
            pg.createUser("vault", verifier);
            pg.createDatabase("vault", "vault");
            pg.createUser("app", FILE_PASSWORD);
            pg.createDatabase("app", "app");
            Path users = Files.writeString(dir.resolve("users.txt"), line + "\napp: " + FILE_PASSWORD + "\n"
                    + pg.superuser() + ": " + pg.superuserPassword() + "\n");

            String log;
            try (RelayProcess relay = RelayProcess.serve(List.of("-Dpgrelay.netty.log.level=DEBUG"),
                    Map.of("PGRELAY_LOG_LEVEL", "debug", "PGRELAY_AUTH_USERS_FILE", users.toString()),
                    List.of("--primary", "127.0.0.1:" + pg.primary().port()))) {
                login(relay, "vault", PASSWD_PASSWORD, "vault");
                login(relay, pg.superuser(), pg.superuserPassword(), "postgres");
                // Left mid-transaction, so pgrelay closes the server connection and says so at DEBUG.
                Connection abandoned = connect(relay, "app", FILE_PASSWORD, "app");
                abandoned.setAutoCommit(false);
                try (Statement st = abandoned.createStatement()) {
                    st.execute("SELECT 1");
                }
                abandoned.close();
                for (String user : List.of("vault", "app")) {
                    SQLException refused = assertThrows(SQLException.class,
                            () -> connect(relay, user, WRONG_PASSWORD, user).close());
                    assertEquals("28P01", refused.getSQLState(), refused::toString);
                }
                relay.awaitStderr("authentication failed for user \"app\"", Duration.ofSeconds(10));
                relay.awaitStderr("released while", Duration.ofSeconds(10));
                relay.sigterm();
                OptionalLong exit = relay.awaitExit(Duration.ofSeconds(30));
                assertEquals(OptionalLong.of(0), exit, relay::describe);
                log = relay.stderr() + relay.stdout();
            }

            List<String> debugFrom = new ArrayList<>();
            log.lines().filter(l -> l.contains(" DEBUG ")).forEach(l -> debugFrom.add(l.replaceAll(".*\\] (\\S+) - .*", "$1")));
            assertTrue(debugFrom.contains("Pool"), () -> "pgrelay's own DEBUG lines should be in the log\n" + log);
            assertTrue(debugFrom.stream().anyMatch(name -> name.contains("PlatformDependent")),
                    () -> "Netty's DEBUG lines should be in the log\n" + log);

            Map<String, String> secrets = Map.of(
                    "the password given to pgrelay passwd", PASSWD_PASSWORD,
                    "the plaintext password in the users file", FILE_PASSWORD,
                    "the password pgrelay logs in to PostgreSQL with", pg.superuserPassword(),
                    "a wrong password a client tried", WRONG_PASSWORD,
                    "the verifier's ServerKey", verifier.substring(verifier.lastIndexOf(':') + 1));
            secrets.forEach((what, secret) -> assertFalse(log.contains(secret),
                    () -> what + " is in pgrelay's log:\n" + log));
            assertFalse(passwd.stderr().contains(PASSWD_PASSWORD), passwd::toString);
        }
    }

    private static void login(RelayProcess relay, String user, String password, String database) throws SQLException {
        try (Connection c = connect(relay, user, password, database); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT current_user")) {
            assertTrue(rs.next());
            assertEquals(user, rs.getString(1));
        }
    }

    private static Connection connect(RelayProcess relay, String user, String password, String database)
            throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        p.setProperty("connectTimeout", "10");
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + relay.port() + "/" + database, p);
    }
}
