package io.pgrelay.conf;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Client authentication.
 *
 * @param usersFile path of the users file, if one is configured
 * @param users     user name to secret, as read from the users file (empty without one); a secret
 *                  is a SCRAM-SHA-256 verifier, an {@code md5} hash or a plaintext password
 * @param rules     rules in order; never empty after validation
 */
public record AuthConfig(Optional<Path> usersFile, Map<String, String> users, List<AuthRule> rules) {
    public AuthConfig {
        users = Map.copyOf(users);
        rules = List.copyOf(rules);
    }
}
