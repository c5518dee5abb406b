package io.pgrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgrelay.conf.UsersFile;
import io.pgrelay.wire.WireException;
import io.pgrelay.wire.auth.PasswordSecret;
import io.pgrelay.wire.auth.ScramClientSession;
import io.pgrelay.wire.auth.ScramSecret;
import io.pgrelay.wire.auth.ScramServerSession;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code pgrelay passwd}: the printed line is a users-file entry whose verifier accepts the password. */
class PasswdCommandTest {
    private static final SecureRandom RANDOM = new SecureRandom();

    @TempDir
    Path dir;

    /** What one run printed and returned. */
    private record Run(int exit, String out, String err) {
    }

    private static Run run(String stdin, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        PasswdCommand command = new PasswdCommand(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)),
                () -> null, RANDOM);
        CommandLine cl = new CommandLine(command).setOut(new PrintWriter(out)).setErr(new PrintWriter(err));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    /** A full SCRAM exchange of a client knowing {@code password} against the server holding {@code secret}. */
    private static void login(ScramSecret secret, String password) {
        ScramClientSession client = ScramClientSession.withPassword(password, RANDOM);
        ScramServerSession server = new ScramServerSession(secret, RANDOM);
        byte[] serverFirst = server.handleClientFirst(client.clientFirstMessage());
        byte[] serverFinal = server.handleClientFinal(client.handleServerFirst(serverFirst));
        client.handleServerFinal(serverFinal);
    }

    private Map<String, String> usersFile(String content) throws Exception {
        Path file = Files.writeString(dir.resolve("users.txt"), content);
        return UsersFile.read(file);
    }

    @Test
    void printedLineIsAUsersFileEntryWhoseVerifierAcceptsThePassword() throws Exception {
        Run r = run("s3cret pass\n", "app");
        assertEquals(0, r.exit(), r::toString);
        String line = r.out().strip();
        assertTrue(line.matches("app: SCRAM-SHA-256\\$4096:[A-Za-z0-9+/=]{24}\\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}"),
                line);
        assertFalse(r.out().contains("s3cret"), "the password itself is never printed");

        Map<String, String> users = usersFile("# header\n" + r.out());
        ScramSecret secret = (ScramSecret) PasswordSecret.parse(users.get("app"));
        login(secret, "s3cret pass");
        WireException wrong = assertThrows(WireException.class, () -> login(secret, "s3cret pas"));
        assertEquals("28P01", wrong.sqlState());
    }

    @Test
    void eachRunDrawsANewSalt() {
        String a = run("pw\n", "app").out();
        String b = run("pw\n", "app").out();
        assertFalse(a.equals(b), "two verifiers of the same password should differ by their salt");
    }

    @Test
    void nonAsciiPasswordsGoThroughSaslPrepAsPostgresDoes() {
        // U+00A0 (no-break space) maps to U+0020 under SASLprep, so both spellings log in.
        Run r = run("pass\u00A0word\n", "app");
        ScramSecret secret = (ScramSecret) PasswordSecret.parse(r.out().strip().substring("app: ".length()));
        login(secret, "pass word");
        login(secret, "pass\u00A0word");
    }

    @Test
    void crLfAndAMissingFinalNewlineAreNotPartOfThePassword() {
        for (String input : new String[] {"pw\r\n", "pw", "pw\nsecond line\n"}) {
            Run r = run(input, "app");
            assertEquals(0, r.exit(), r::toString);
            login((ScramSecret) PasswordSecret.parse(r.out().strip().substring("app: ".length())), "pw");
        }
    }

    @Test
    void awkwardUserNamesAreQuotedSoTheUsersFileReadsThemBack() throws Exception {
        String[] names = {"odd:user", "my user", "say \"hi\"", "back\\slash", "#hash"};
        StringBuilder file = new StringBuilder();
        for (String name : names) {
            Run r = run("pw\n", name);
            assertEquals(0, r.exit(), r::toString);
            file.append(r.out());
        }
        Map<String, String> users = usersFile(file.toString());
        assertEquals(java.util.List.of(names), java.util.List.copyOf(users.keySet()));
    }

    @Test
    void iterationsCanBeRaised() {
        Run r = run("pw\n", "--iterations", "10000", "app");
        assertTrue(r.out().startsWith("app: SCRAM-SHA-256$10000:"), r::toString);
        Run bad = run("pw\n", "--iterations", "0", "app");
        assertEquals(2, bad.exit(), bad::toString);
        assertTrue(bad.err().contains("--iterations"), bad::toString);
    }

    @Test
    void anEmptyOrOverlongOrNonUtf8PasswordPrintsNothing() {
        Run empty = run("\n", "app");
        assertEquals(1, empty.exit(), empty::toString);
        assertEquals("", empty.out());
        assertTrue(empty.err().contains("no password"), empty::toString);

        Run none = run("", "app");
        assertEquals(1, none.exit(), none::toString);
        assertEquals("", none.out());

        Run huge = run("x".repeat(5000), "app");
        assertEquals(1, huge.exit(), huge::toString);
        assertTrue(huge.err().contains("longer than"), huge::toString);
        assertFalse(huge.err().contains("xxxx"), "the input is not echoed");

        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        PasswdCommand command = new PasswdCommand(new ByteArrayInputStream(new byte[] {'p', (byte) 0xC3, '\n'}),
                () -> null, RANDOM);
        int exit = new CommandLine(command).setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute("app");
        assertEquals(1, exit);
        assertTrue(err.toString().contains("not UTF-8"), err::toString);
        assertEquals("", out.toString());
    }

    @Test
    void thePasswordIsNeverAnArgument() {
        Run r = run("pw\n", "app", "pw");
        assertEquals(2, r.exit(), r::toString);
        assertEquals("", r.out());
    }
}
