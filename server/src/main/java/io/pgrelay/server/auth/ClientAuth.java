package io.pgrelay.server.auth;

import io.pgrelay.conf.AuthConfig;
import io.pgrelay.conf.AuthMethod;
import io.pgrelay.conf.AuthRule;
import io.pgrelay.conf.Cidr;
import io.pgrelay.wire.auth.PasswordSecret;
import io.pgrelay.wire.auth.PlainPassword;
import io.pgrelay.wire.auth.ScramSecret;
import java.net.InetAddress;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The authentication rules and the users file of one configuration: which method a connection
 * must use, and the secret a user proves. Thread-safe; shared by all sessions.
 */
public final class ClientAuth {
    /** PostgreSQL's default iteration count for SCRAM verifiers. */
    private static final int SCRAM_ITERATIONS = 4096;

    /** A rule with its address parsed once; a null range means {@code all}. */
    private record Rule(Cidr range, String database, String user, AuthMethod method) {
        boolean matches(InetAddress client, String db, String usr) {
            return (database.equals("all") || database.equals(db))
                    && (user.equals("all") || user.equals(usr))
                    && (range == null || range.contains(client));
        }
    }

    private final List<Rule> rules = new ArrayList<>();
    private final Map<String, PasswordSecret> secrets = new HashMap<>();
    private final Map<String, ScramSecret> derivedScram = new ConcurrentHashMap<>();
    private final SecureRandom random = new SecureRandom();
    private final byte[] mockSecret = new byte[32];

    public ClientAuth(AuthConfig config) {
        random.nextBytes(mockSecret);
        for (AuthRule r : config.rules()) {
            Cidr range = r.address().equals("all") ? null : Cidr.parse(r.address());
            rules.add(new Rule(range, r.database(), r.user(), r.method()));
        }
        config.users().forEach((user, secret) -> secrets.put(user, PasswordSecret.parse(secret)));
    }

    /** The method of the first matching rule; {@link AuthMethod#REJECT} when none matches, as pg_hba.conf does. */
    public AuthMethod methodFor(InetAddress client, String database, String user) {
        for (Rule r : rules) {
            if (r.matches(client, database, user)) {
                return r.method();
            }
        }
        return AuthMethod.REJECT;
    }

    /** The user's secret from the users file, or null for a user not listed. */
    public PasswordSecret secret(String user) {
        return secrets.get(user);
    }

    /**
     * The SCRAM verifier to check this user against: the stored one, or for a plaintext password
     * one derived once with a random salt. Null when the user has only an md5 hash or is unknown.
     */
    public ScramSecret scramSecret(String user) {
        PasswordSecret secret = secrets.get(user);
        if (secret instanceof ScramSecret scram) {
            return scram;
        }
        if (secret instanceof PlainPassword plain) {
            return derivedScram.computeIfAbsent(user, u -> {
                byte[] salt = new byte[16];
                random.nextBytes(salt);
                return ScramSecret.fromPassword(plain.password(), salt, SCRAM_ITERATIONS);
            });
        }
        return null;
    }

    SecureRandom random() {
        return random;
    }

    /** The per-process secret that keeps an unknown user's mock SCRAM salt stable. */
    byte[] mockSecret() {
        return mockSecret;
    }
}
