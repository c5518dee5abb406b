package io.pgrelay.server.reload;

import io.pgrelay.conf.PgRelayConfig;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Flattens a bound configuration into dotted keys and lists the keys whose values differ.
 *
 * <p>It walks the records by reflection, so a key added to the configuration later shows up in
 * the diff without a change here (and is then reported as needing a restart).
 */
public final class ConfigDiff {
    static final String MASK = "***";
    /** Where a record path differs from the key of the YAML file. */
    private static final Map<String, String> RENAMED = Map.of(
            "admin_users", "admin.users",
            "pool.databases", "databases",
            "pool.users", "users");

    private ConfigDiff() {
    }

    /** One key whose value changed; values of secrets are masked. */
    public record Change(String key, String oldValue, String newValue) {
    }

    /** The keys whose values differ between {@code before} and {@code after}, sorted by key. */
    public static List<Change> diff(PgRelayConfig before, PgRelayConfig after) {
        SortedMap<String, String> a = flatten(before);
        SortedMap<String, String> b = flatten(after);
        TreeSet<String> keys = new TreeSet<>(a.keySet());
        keys.addAll(b.keySet());
        List<Change> changes = new ArrayList<>();
        for (String key : keys) {
            String old = a.getOrDefault(key, "");
            String now = b.getOrDefault(key, "");
            if (!old.equals(now)) {
                boolean secret = secret(key);
                changes.add(new Change(key, secret && !old.isEmpty() ? MASK : old, secret && !now.isEmpty() ? MASK : now));
            }
        }
        return changes;
    }

    /** Every leaf value of {@code config} under its dotted key. */
    static SortedMap<String, String> flatten(PgRelayConfig config) {
        SortedMap<String, String> out = new TreeMap<>();
        walk("", config, out);
        return out;
    }

    private static void walk(String path, Object value, SortedMap<String, String> out) {
        Object v = unwrap(value);
        if (v != null && v.getClass().isRecord() && !(v instanceof io.pgrelay.conf.HostPort)) {
            for (RecordComponent c : v.getClass().getRecordComponents()) {
                walk(join(path, snake(c.getName())), read(c, v), out);
            }
        } else if (v instanceof Map<?, ?> map) {
            map.forEach((k, e) -> walk(path + "." + k, e, out));
        } else if (v instanceof Collection<?> list && !list.isEmpty() && unwrap(list.iterator().next()).getClass().isRecord()) {
            int i = 0;
            for (Object e : list) {
                walk(path + "[" + elementName(e, i++) + "]", e, out);
            }
        } else {
            out.put(path, v == null ? "" : render(v));
        }
    }

    private static String render(Object v) {
        if (v instanceof Collection<?> list) {
            return String.join(",", list.stream().map(ConfigDiff::render).toList());
        }
        return v instanceof Enum<?> e ? e.name().toLowerCase(Locale.ROOT) : v.toString();
    }

    /** Elements with a name (nodes, database and user overrides) are keyed by it, so reordering is no change. */
    private static String elementName(Object element, int index) {
        for (RecordComponent c : element.getClass().getRecordComponents()) {
            if (c.getName().equals("name")) {
                return String.valueOf(read(c, element));
            }
        }
        return String.valueOf(index);
    }

    private static Object unwrap(Object v) {
        if (v instanceof Optional<?> o) {
            return o.orElse(null);
        }
        if (v instanceof OptionalInt o) {
            return o.isPresent() ? o.getAsInt() : null;
        }
        if (v instanceof OptionalLong o) {
            return o.isPresent() ? o.getAsLong() : null;
        }
        return v;
    }

    private static Object read(RecordComponent c, Object record) {
        try {
            return c.getAccessor().invoke(record);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot read " + c, e);
        }
    }

    private static String join(String path, String name) {
        String key = path.isEmpty() ? name : path + "." + name;
        return RENAMED.getOrDefault(key, key);
    }

    private static String snake(String camel) {
        return camel.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(Locale.ROOT);
    }

    /** Passwords, tokens and the users file's secrets (auth.users.NAME) never leave the process. */
    static boolean secret(String key) {
        String k = key.toLowerCase(Locale.ROOT);
        return k.contains("password") || k.contains("token") || k.contains("secret") || k.startsWith("auth.users.");
    }
}
