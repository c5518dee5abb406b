package io.pgrelay.conf;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Loads and validates the pgrelay configuration from built-in defaults, a YAML file, the
 * environment and command-line overrides, each taking precedence over the one before.
 *
 * <p>Keys are dotted paths into the YAML file ({@code pool.size}); {@link #knownKeys()} lists them
 * and {@code conf/examples/pgrelay.yaml} documents each. The single-valued ones
 * ({@link #overridableKeys()}) can also be set from the environment, as {@code PGRELAY_} plus the
 * key upper-cased with {@code .} as {@code _} ({@code PGRELAY_POOL_SIZE}), and from the command
 * line under the dotted key itself. There, {@code replicas} and {@code admin.users} are
 * comma-separated lists, and setting
 * {@code primary} or {@code replicas} replaces the file's {@code nodes} list. Any other
 * {@code PGRELAY_} variable is an error, so a misspelt one cannot silently do nothing, except
 * those of the launcher and CLI: {@code PGRELAY_ADMIN}, {@code PGRELAY_HOME}, {@code PGRELAY_OPTS}, {@code PGRELAY_JAR},
 * {@code PGRELAY_CONFIG}.
 */
public final class ConfigLoader {
    private static final String COMMAND_LINE = "from command line";

    private ConfigLoader() {
    }

    /**
     * Loads the configuration.
     *
     * @param file      the YAML file, if any
     * @param env       the environment, normally {@link System#getenv()}
     * @param overrides settings from command-line flags by dotted key ({@code "pool.size" -> "10"})
     * @throws ConfigException listing every problem found, each naming the key, where its value
     *                         came from, the value and what is allowed
     */
    public static PgRelayConfig load(Optional<Path> file, Map<String, String> env, Map<String, String> overrides) {
        List<String> problems = new ArrayList<>();
        RawConfig merged = new RawConfig();
        boolean readable = true;
        if (file.isPresent()) {
            RawConfig fromFile = YamlSource.read(file.get(), problems);
            readable = fromFile != null;
            if (readable) {
                merged.overlay(fromFile);
            }
        }
        merged.overlay(fromEnvironment(env, problems));
        merged.overlay(fromOverrides(overrides, problems));
        // Checking values without a readable file would only add noise such as "no primary".
        PgRelayConfig config = readable ? new Binder(problems).bind(merged) : null;
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return config;
    }

    /**
     * The problems with a configuration file as {@code pgrelay check-config} reports them,
     * including those of {@code PGRELAY_} variables in {@code env}.
     *
     * @return the problems, empty when the configuration can be used
     */
    public static List<String> check(Path file, Map<String, String> env) {
        try {
            load(Optional.of(file), env, Map.of());
            return List.of();
        } catch (ConfigException e) {
            return e.problems();
        }
    }

    /** Every key of the YAML file as a dotted path; elements of lists appear as {@code nodes[].host}. */
    public static List<String> knownKeys() {
        return Keys.ALL;
    }

    /** The keys that the environment and command-line overrides can set. */
    public static List<String> overridableKeys() {
        return Keys.OVERRIDABLE;
    }

    /** The environment variable that overrides {@code key}: {@code pool.size} -> {@code PGRELAY_POOL_SIZE}. */
    public static String environmentVariable(String key) {
        return Keys.environmentVariable(key);
    }

    private static RawConfig fromEnvironment(Map<String, String> env, List<String> problems) {
        Map<String, String> byVariable = new TreeMap<>();
        Keys.OVERRIDABLE.forEach(key -> byVariable.put(Keys.environmentVariable(key), key));
        RawConfig raw = new RawConfig();
        // Sorted so that problems come out in the same order every time.
        for (Map.Entry<String, String> e : new TreeMap<>(env).entrySet()) {
            String variable = e.getKey();
            if (!variable.startsWith(Keys.ENV_PREFIX) || Keys.NON_CONFIG_VARIABLES.contains(variable)) {
                continue;
            }
            String key = byVariable.get(variable);
            if (key == null) {
                problems.add(unknownVariable(variable, byVariable));
            } else {
                set(raw, key, e.getValue(), "from environment " + variable);
            }
        }
        return raw;
    }

    private static String unknownVariable(String variable, Map<String, String> byVariable) {
        for (String key : Keys.ALL) {
            if (Keys.environmentVariable(key).equals(variable)) {
                return "environment variable " + variable + ": " + key + " " + fileOnly(key);
            }
        }
        String suffix = variable.substring(Keys.ENV_PREFIX.length());
        List<String> suffixes = byVariable.keySet().stream().map(v -> v.substring(Keys.ENV_PREFIX.length())).toList();
        return "unknown environment variable " + variable + Keys.suggest(suffix, suffixes)
                .map(s -> "; did you mean " + Keys.ENV_PREFIX + s + "?")
                .orElse("; a " + Keys.ENV_PREFIX + " variable must name a setting: "
                        + String.join(", ", byVariable.keySet()));
    }

    /** Why a key that exists cannot be set from the environment or command line. */
    private static String fileOnly(String key) {
        String alternative = key.startsWith(Keys.NODES) ? "; use " + Keys.PRIMARY + " and " + Keys.REPLICAS
                + " (" + Keys.environmentVariable(Keys.PRIMARY) + ", " + Keys.environmentVariable(Keys.REPLICAS)
                + ") to give the servers" : "";
        return "can only be set in the config file" + alternative;
    }

    private static RawConfig fromOverrides(Map<String, String> overrides, List<String> problems) {
        RawConfig raw = new RawConfig();
        for (Map.Entry<String, String> e : new TreeMap<>(overrides).entrySet()) {
            String key = e.getKey();
            if (Keys.OVERRIDABLE.contains(key)) {
                set(raw, key, e.getValue(), COMMAND_LINE);
            } else if (Keys.ALL.contains(key)) {
                problems.add(key + " (" + COMMAND_LINE + "): " + fileOnly(key));
            } else {
                problems.add("unknown key " + key + " (" + COMMAND_LINE + ")"
                        + Keys.suggest(key, Keys.OVERRIDABLE).map(s -> "; did you mean " + s + "?").orElse(""));
            }
        }
        return raw;
    }

    private static void set(RawConfig raw, String key, String value, String origin) {
        if (key.equals(Keys.REPLICAS)) {
            raw.replicasOrigin = origin;
            raw.replicas = value == null || value.isBlank() ? List.of()
                    : commaList(value, origin);
        } else if (key.equals(Keys.ADMIN_USERS)) {
            raw.adminUsers = value == null || value.isBlank() ? List.of() : commaList(value, origin);
        } else {
            raw.values.put(key, new Raw(value, origin));
        }
    }

    private static List<Raw> commaList(String value, String origin) {
        return Arrays.stream(value.split(",", -1)).map(r -> new Raw(r.strip(), origin)).toList();
    }
}
