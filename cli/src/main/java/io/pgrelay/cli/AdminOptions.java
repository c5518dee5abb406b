package io.pgrelay.cli;

import io.pgrelay.conf.ConfigLoader;
import io.pgrelay.conf.PgRelayConfig;
import java.net.URI;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import picocli.CommandLine.Option;

/**
 * How the admin commands find a running pgrelay: {@code --admin URL}, else {@code PGRELAY_ADMIN},
 * else {@code admin.listen} of the configuration file ({@code --config FILE} or
 * {@code PGRELAY_CONFIG}), else the default {@code 127.0.0.1:6433}; and the token it wants:
 * {@code --token}, else {@code PGRELAY_ADMIN_TOKEN}, else the file's {@code admin.token}.
 */
final class AdminOptions {
    static final String DEFAULT_ADMIN = "http://127.0.0.1:6433";

    @Option(names = "--admin", paramLabel = "URL",
            description = "pgrelay's admin endpoint, e.g. http://127.0.0.1:6433 (default: PGRELAY_ADMIN, "
                    + "else admin.listen of the configuration file, else " + DEFAULT_ADMIN + ")")
    String admin;

    @Option(names = "--token", paramLabel = "TOKEN",
            description = "the admin token (default: PGRELAY_ADMIN_TOKEN, else admin.token of the configuration file); "
                    + "prefer the variable: arguments show in the process list")
    String token;

    @Option(names = "--config", paramLabel = "FILE",
            description = "pgrelay's configuration file, to read admin.listen and admin.token from (default: PGRELAY_CONFIG)")
    Path config;

    /** Where to send requests and with which token, from the options and {@code env}. */
    AdminClient client(Map<String, String> env) {
        Optional<PgRelayConfig> file = Optional.empty();
        Path configFile = config != null ? config : Optional.ofNullable(env.get("PGRELAY_CONFIG")).map(Path::of).orElse(null);
        boolean needFile = configFile != null && (admin == null && env.get("PGRELAY_ADMIN") == null
                || token == null && env.get("PGRELAY_ADMIN_TOKEN") == null);
        if (needFile) {
            // Loaded as serve loads it, environment included, so both read the same admin.listen.
            file = Optional.of(ConfigLoader.load(Optional.of(configFile), env, Map.of()));
        }
        String url = admin != null ? admin : env.get("PGRELAY_ADMIN");
        if (url == null) {
            url = file.map(c -> "http://" + c.admin().listen()).orElse(DEFAULT_ADMIN);
        }
        String bearer = token != null ? token : env.get("PGRELAY_ADMIN_TOKEN");
        if (bearer == null) {
            bearer = file.flatMap(c -> c.admin().token()).orElse(null);
        }
        return new AdminClient(base(url), Optional.ofNullable(bearer));
    }

    /** The URL without a trailing slash; {@code host:port} alone means http. */
    static URI base(String url) {
        String u = url.contains("://") ? url : "http://" + url;
        while (u.endsWith("/")) {
            u = u.substring(0, u.length() - 1);
        }
        URI uri = URI.create(u);
        if (!"http".equals(uri.getScheme()) || uri.getHost() == null) {
            throw new IllegalArgumentException("--admin/PGRELAY_ADMIN must be http://HOST:PORT, not " + url);
        }
        return uri;
    }
}
