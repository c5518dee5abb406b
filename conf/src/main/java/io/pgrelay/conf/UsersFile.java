package io.pgrelay.conf;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the users file ({@code auth.users_file}): the users pgrelay accepts and their secrets.
 *
 * <p>Format: UTF-8 text, one {@code user: secret} per line. Blank lines and lines whose first
 * non-blank character is {@code #} are ignored. The user name is everything before the first
 * {@code :}, trimmed; a name containing {@code :}, spaces or {@code "} is written in double quotes,
 * inside which {@code \"} stands for {@code "} and {@code \\} for {@code \}
 * ({@code "odd:user": secret}). The secret is the rest of the line, trimmed (so it may contain
 * {@code :} and {@code #}; there are no trailing comments), in one of the forms PostgreSQL keeps in
 * <a href="https://www.postgresql.org/docs/current/catalog-pg-authid.html">pg_authid.rolpassword</a>:
 * <ul>
 *   <li>a SCRAM-SHA-256 verifier,
 *       {@code SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>} with base64 salt and
 *       keys (what {@code pgrelay passwd} writes; the password itself is not stored);</li>
 *   <li>an MD5 hash, {@code md5} followed by 32 hex digits (md5 of password + user name);</li>
 *   <li>anything else is a plaintext password.</li>
 * </ul>
 * Each user appears once. Error messages give line numbers and user names but never a secret,
 * nor the text of a line that could not be split into user and secret.
 */
public final class UsersFile {
    private static final String SCRAM_PREFIX = "SCRAM-SHA-256$";
    private static final String SCRAM_FORMAT =
            "expected SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey> as in pg_authid";

    private UsersFile() {
    }

    /**
     * Reads and checks a users file.
     *
     * @return user name to secret, in file order
     * @throws ConfigException listing every problem, each starting with the path
     */
    public static Map<String, String> read(Path file) {
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new ConfigException("cannot read users file " + file + ": it does not exist");
        } catch (AccessDeniedException e) {
            throw new ConfigException("cannot read users file " + file + ": permission denied");
        } catch (CharacterCodingException e) {
            throw new ConfigException("cannot read users file " + file + ": it is not UTF-8 text");
        } catch (IOException e) {
            throw new ConfigException("cannot read users file " + file + ": " + e.getMessage());
        }
        return parse(lines, file.toString());
    }

    /** Parses the lines of a users file; {@code name} prefixes every problem. */
    static Map<String, String> parse(List<String> lines, String name) {
        Map<String, String> users = new LinkedHashMap<>();
        Map<String, Integer> firstLine = new HashMap<>();
        List<String> problems = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (i == 0 && line.startsWith("\uFEFF")) {
                line = line.substring(1).strip();
            }
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            int lineNumber = i + 1;
            String at = name + ":" + lineNumber + ": ";
            Entry entry;
            try {
                entry = entry(line);
            } catch (IllegalArgumentException e) {
                problems.add(at + e.getMessage());
                continue;
            }
            Integer previous = firstLine.putIfAbsent(entry.user, lineNumber);
            if (previous != null) {
                problems.add(name + ": user '" + entry.user + "' is on lines " + previous + " and " + lineNumber
                        + "; each user may appear once");
                continue;
            }
            String secretProblem = secretProblem(entry.secret);
            if (secretProblem != null) {
                problems.add(at + "the secret of user '" + entry.user + "' " + secretProblem);
                continue;
            }
            users.put(entry.user, entry.secret);
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return users;
    }

    private record Entry(String user, String secret) {
    }

    /** Splits a line into user and secret; exception messages must not quote the line. */
    private static Entry entry(String line) {
        String user;
        String rest;
        if (line.startsWith("\"")) {
            StringBuilder name = new StringBuilder();
            int i = 1;
            while (i < line.length() && line.charAt(i) != '"') {
                char c = line.charAt(i);
                if (c == '\\' && i + 1 < line.length()) {
                    c = line.charAt(++i);
                }
                name.append(c);
                i++;
            }
            if (i >= line.length()) {
                throw new IllegalArgumentException("the quoted user name has no closing \"");
            }
            user = name.toString();
            rest = line.substring(i + 1).stripLeading();
            if (!rest.startsWith(":")) {
                throw new IllegalArgumentException("expected ':' after the quoted user name");
            }
        } else {
            int colon = line.indexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException("no ':' between user and secret; write user: secret");
            }
            user = line.substring(0, colon).strip();
            rest = line.substring(colon);
            if (user.chars().anyMatch(c -> Character.isWhitespace(c) || c == '"')) {
                throw new IllegalArgumentException(
                        "the user name contains a space or '\"'; write it in double quotes, e.g. \"my user\": secret");
            }
        }
        if (user.isEmpty()) {
            throw new IllegalArgumentException("the user name is empty");
        }
        String secret = rest.substring(1).strip();
        if (secret.isEmpty()) {
            throw new IllegalArgumentException("user '" + user + "' has no secret after ':'");
        }
        return new Entry(user, secret);
    }

    /**
     * Why a secret that claims to be a SCRAM verifier is not one, or {@code null}. Without this a
     * damaged verifier would silently become a plaintext password nobody knows.
     */
    private static String secretProblem(String secret) {
        if (!secret.startsWith(SCRAM_PREFIX)) {
            return null;
        }
        String[] halves = secret.substring(SCRAM_PREFIX.length()).split("\\$", -1);
        if (halves.length != 2) {
            return "starts with " + SCRAM_PREFIX + " but does not have two $-separated parts; " + SCRAM_FORMAT;
        }
        String[] iterationsAndSalt = halves[0].split(":", -1);
        String[] keys = halves[1].split(":", -1);
        if (iterationsAndSalt.length != 2 || keys.length != 2) {
            return "starts with " + SCRAM_PREFIX + " but a part lacks its ':'; " + SCRAM_FORMAT;
        }
        if (!iterationsAndSalt[0].matches("[1-9]\\d{0,8}")) {
            return "has an iteration count that is not a positive integer; " + SCRAM_FORMAT;
        }
        if (decodedLength(iterationsAndSalt[1]) < 1) {
            return "has a salt that is not base64; " + SCRAM_FORMAT;
        }
        if (decodedLength(keys[0]) != 32 || decodedLength(keys[1]) != 32) {
            return "has a StoredKey or ServerKey that is not 32 bytes of base64; " + SCRAM_FORMAT;
        }
        return null;
    }

    private static int decodedLength(String base64) {
        try {
            return Base64.getDecoder().decode(base64).length;
        } catch (IllegalArgumentException e) {
            return -1;
        }
    }
}
