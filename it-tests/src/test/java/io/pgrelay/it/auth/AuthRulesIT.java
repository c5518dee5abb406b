package io.pgrelay.it.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.it.support.RelayHarness;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Client authentication rules from the configuration file, end to end with the JDBC driver. */
class AuthRulesIT {
    private static final String RULES = """
            auth:
              rules:
                - address: 127.0.0.1/32
                  database: postgres
                  method: reject
                - address: 10.0.0.0/8
                  method: trust
                - address: 127.0.0.1/32
                  user: app
                  method: md5
                - address: all
                  method: scram-sha-256
            """;

    private static RelayHarness h;

    @BeforeAll
    static void start() throws Exception {
        h = RelayHarness.start(Map.of(), RULES);
    }

    @AfterAll
    static void stop() throws Exception {
        if (h != null) {
            h.close();
        }
    }

    @Test
    void anMd5RuleAsksForMd5AndTheDriverLogsIn() throws Exception {
        assertEquals(5, firstAuthenticationRequest("app", "app"), "AuthenticationMD5Password");
        assertEquals(10, firstAuthenticationRequest("scram_app", "scram_app"), "AuthenticationSASL");
        try (Connection c = h.connect(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT current_user")) {
            assertTrue(rs.next());
            assertEquals("app", rs.getString(1));
        }
        SQLException wrong = assertThrows(SQLException.class,
                () -> h.connect("app", "wrong", "app", new Properties()));
        assertEquals("28P01", wrong.getSQLState());
    }

    /** Sends a StartupMessage and returns the code of the Authentication request pgrelay answers with. */
    private static int firstAuthenticationRequest(String user, String database) throws Exception {
        try (Socket socket = new Socket("127.0.0.1", h.port())) {
            socket.setSoTimeout(5000);
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(body);
            out.writeInt(196608);
            for (String s : new String[] {"user", user, "database", database}) {
                out.write(s.getBytes(StandardCharsets.UTF_8));
                out.write(0);
            }
            out.write(0);
            DataOutputStream wire = new DataOutputStream(socket.getOutputStream());
            wire.writeInt(body.size() + 4);
            wire.write(body.toByteArray());
            wire.flush();
            DataInputStream in = new DataInputStream(socket.getInputStream());
            assertEquals('R', in.readByte());
            in.readInt();
            return in.readInt();
        }
    }

    @Test
    void theFirstMatchingRuleWinsAndRejectsNameTheConnection() {
        SQLException rejected = assertThrows(SQLException.class,
                () -> h.connect("app", RelayHarness.APP_PASSWORD, "postgres", new Properties()));
        assertEquals("28000", rejected.getSQLState());
        assertTrue(rejected.getMessage().contains("reject connection for host \"127.0.0.1\""), rejected.getMessage());
    }

    @Test
    void aRuleForAnotherNetworkDoesNotApply() throws SQLException {
        // 10.0.0.0/8 would trust anyone; the client is on 127.0.0.1, so it still needs its password.
        assertThrows(SQLException.class,
                () -> h.connect("scram_app", "not-it", "scram_app", new Properties()));
        try (Connection c = h.connect("scram_app", RelayHarness.SCRAM_PASSWORD, "scram_app", new Properties())) {
            assertTrue(c.isValid(5));
        }
    }
}
