package io.pgrelay.failover;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A libpq connection string in {@code key=value} form, as in {@code primary_conninfo}: parsed,
 * pointed at another host, and written back with every value quoted.
 *
 * @see <a href="https://www.postgresql.org/docs/15/libpq-connect.html#LIBPQ-CONNSTRING">PostgreSQL: connection strings</a>
 */
final class Conninfo {
    private final Map<String, String> values;

    private Conninfo(Map<String, String> values) {
        this.values = values;
    }

    static Conninfo parse(String text) {
        if (text.startsWith("postgresql://") || text.startsWith("postgres://")) {
            throw new IllegalArgumentException("connection URIs are not supported; write primary_conninfo as"
                    + " key=value pairs");
        }
        Map<String, String> values = new LinkedHashMap<>();
        int i = 0;
        int n = text.length();
        while (true) {
            while (i < n && Character.isWhitespace(text.charAt(i))) {
                i++;
            }
            if (i == n) {
                return new Conninfo(values);
            }
            int keyStart = i;
            while (i < n && text.charAt(i) != '=' && !Character.isWhitespace(text.charAt(i))) {
                i++;
            }
            String key = text.substring(keyStart, i);
            while (i < n && Character.isWhitespace(text.charAt(i))) {
                i++;
            }
            if (i == n || text.charAt(i) != '=' || key.isEmpty()) {
                throw new IllegalArgumentException("missing '=' after '" + key + "' in connection string");
            }
            i++;
            while (i < n && Character.isWhitespace(text.charAt(i))) {
                i++;
            }
            StringBuilder value = new StringBuilder();
            boolean quoted = i < n && text.charAt(i) == '\'';
            if (quoted) {
                i++;
            }
            while (i < n && (quoted ? text.charAt(i) != '\'' : !Character.isWhitespace(text.charAt(i)))) {
                char c = text.charAt(i++);
                if (c == '\\' && i < n) {
                    c = text.charAt(i++);
                }
                value.append(c);
            }
            if (quoted) {
                if (i == n) {
                    throw new IllegalArgumentException("unterminated quoted value of '" + key + "' in connection string");
                }
                i++;
            }
            values.put(key, value.toString());
        }
    }

    /** The same settings aimed at {@code host}:{@code port}; {@code hostaddr} would override the host, so it goes. */
    Conninfo pointedAt(String host, int port) {
        Map<String, String> copy = new LinkedHashMap<>(values);
        copy.remove("hostaddr");
        copy.put("host", host);
        copy.put("port", Integer.toString(port));
        return new Conninfo(copy);
    }

    String get(String key) {
        return values.get(key);
    }

    /** {@code key='value'} pairs, with {@code '} and {@code \} escaped. */
    String format() {
        StringBuilder out = new StringBuilder();
        values.forEach((k, v) -> {
            if (!out.isEmpty()) {
                out.append(' ');
            }
            out.append(k).append("='").append(v.replace("\\", "\\\\").replace("'", "\\'")).append('\'');
        });
        return out.toString();
    }
}
