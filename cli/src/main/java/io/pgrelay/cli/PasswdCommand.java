package io.pgrelay.cli;

import io.pgrelay.wire.auth.ScramSecret;
import java.io.ByteArrayOutputStream;
import java.io.Console;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code pgrelay passwd USER}: prints a users-file line holding a SCRAM-SHA-256 verifier of a
 * password read from the terminal (asked twice) or from standard input, never from the arguments.
 */
@Command(name = "passwd", mixinStandardHelpOptions = true,
        description = {"Print a users-file line (auth.users_file) with a SCRAM-SHA-256 verifier for USER.",
            "The password is read from the terminal, asked twice, or as the first line of standard input "
                    + "when that is not a terminal (or with --stdin); it is never an argument, so it stays "
                    + "out of the shell history and the process list. Append the output to the users file: "
                    + "pgrelay passwd app >> users.txt"})
final class PasswdCommand implements Callable<Integer> {
    /** PostgreSQL's default scram_iterations. */
    static final int DEFAULT_ITERATIONS = 4096;
    /** PostgreSQL's salt length (SCRAM_DEFAULT_SALT_LEN). */
    private static final int SALT_LENGTH = 16;
    /** A password longer than this on stdin is more likely a mistaken pipe than a password. */
    private static final int MAX_PASSWORD_BYTES = 1024;

    @Parameters(paramLabel = "USER", description = "the user name, as clients give it when they connect")
    String user;

    @Option(names = "--stdin", description = "read the password from the first line of standard input "
            + "even when it is a terminal")
    boolean stdin;

    @Option(names = "--iterations", paramLabel = "N", defaultValue = "" + DEFAULT_ITERATIONS,
            description = "PBKDF2 iterations (default ${DEFAULT-VALUE}, as PostgreSQL's scram_iterations)")
    int iterations;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    private final InputStream in;
    private final Supplier<Console> console;
    private final SecureRandom random;

    PasswdCommand() {
        this(System.in, PasswdCommand::terminal, new SecureRandom());
    }

    /** For tests: where the password comes from, and the salt's randomness. */
    PasswdCommand(InputStream in, Supplier<Console> console, SecureRandom random) {
        this.in = in;
        this.console = console;
        this.random = random;
    }

    @Override
    public Integer call() throws IOException {
        if (iterations < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(),
                    "--iterations must be at least 1, got " + iterations);
        }
        PrintWriter err = spec.commandLine().getErr();
        Console terminal = stdin ? null : console.get();
        char[] password = terminal != null ? prompt(terminal, err) : firstLine(err);
        if (password == null) {
            return PgRelayCli.EXIT_FAILURE;
        }
        byte[] salt = new byte[SALT_LENGTH];
        random.nextBytes(salt);
        ScramSecret secret;
        try {
            secret = ScramSecret.fromPassword(new String(password), salt, iterations);
        } finally {
            Arrays.fill(password, '\0');
        }
        spec.commandLine().getOut().println(usersFileName(user) + ": " + secret.encode());
        spec.commandLine().getOut().flush();
        return 0;
    }

    /** Asks twice on the terminal; {@code null} after saying why when the answers differ or are empty. */
    private static char[] prompt(Console terminal, PrintWriter err) {
        char[] first = terminal.readPassword("Password: ");
        char[] second = first == null ? null : terminal.readPassword("Again: ");
        try {
            if (first == null || second == null) {
                err.println("pgrelay passwd: no password entered");
                return null;
            }
            if (!Arrays.equals(first, second)) {
                err.println("pgrelay passwd: the passwords do not match; nothing was printed");
                return null;
            }
            if (first.length == 0) {
                err.println("pgrelay passwd: the password is empty");
                return null;
            }
            return first.clone();
        } finally {
            if (first != null) {
                Arrays.fill(first, '\0');
            }
            if (second != null) {
                Arrays.fill(second, '\0');
            }
        }
    }

    /** The first line of standard input without its line ending; {@code null} after saying why. */
    private char[] firstLine(PrintWriter err) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int b; (b = in.read()) >= 0 && b != '\n'; ) {
            if (line.size() == MAX_PASSWORD_BYTES) {
                err.println("pgrelay passwd: the first line of standard input is longer than "
                        + MAX_PASSWORD_BYTES + " bytes; give the password alone on one line");
                return null;
            }
            line.write(b);
        }
        byte[] bytes = line.toByteArray();
        int length = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
        if (length == 0) {
            err.println("pgrelay passwd: no password on standard input; give it as the first line");
            return null;
        }
        CharBuffer decoded;
        try {
            decoded = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes, 0, length));
        } catch (CharacterCodingException e) {
            err.println("pgrelay passwd: the password on standard input is not UTF-8 text");
            return null;
        } finally {
            Arrays.fill(bytes, (byte) 0);
        }
        char[] password = new char[decoded.remaining()];
        decoded.get(password);
        Arrays.fill(decoded.array(), '\0');
        return password;
    }

    /** The user name as the users file reads it: quoted when it holds ':', '"', '\' or white space. */
    static String usersFileName(String user) {
        boolean plain = !user.isEmpty() && !user.startsWith("#")
                && user.chars().noneMatch(c -> c == ':' || c == '"' || c == '\\' || Character.isWhitespace(c));
        if (plain) {
            return user;
        }
        return "\"" + user.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    /**
     * The console if standard input is a terminal. From JDK 22 to 24 {@link System#console()}
     * returns a console even for a pipe, and only {@code Console.isTerminal()} (not in 21) tells.
     */
    private static Console terminal() {
        Console c = System.console();
        if (c == null) {
            return null;
        }
        try {
            Method isTerminal = Console.class.getMethod("isTerminal");
            return (Boolean) isTerminal.invoke(c) ? c : null;
        } catch (NoSuchMethodException e) {
            return c;
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot ask the JDK whether stdin is a terminal", e);
        }
    }
}
