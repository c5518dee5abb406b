package io.pgrelay.server.session;

import io.pgrelay.wire.SqlState;
import io.pgrelay.wire.WireException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The run-time settings a client expects in transaction pooling, where each transaction may run
 * on another server connection: its startup parameters and the SETs it has made since. Before a
 * server serves the client, {@link #syncQuery} brings the server to these settings.
 *
 * <p>Each setting is kept as the statement that produces it: a startup value as given (applied
 * with {@code set_config}, which takes values exactly as a startup packet does, list values such
 * as search_path included), a SET as the client wrote its value.
 */
final class SessionSettings {
    /** Startup packet keys that are not run-time settings. */
    private static final List<String> NOT_SETTINGS = List.of("user", "database", "replication", "options");

    private final Map<String, String> startup = new LinkedHashMap<>();
    private final Map<String, String> current = new LinkedHashMap<>();

    /**
     * The settings of a new client.
     *
     * @throws WireException 0A000 when {@code options} holds something other than settings
     */
    static SessionSettings fromStartup(Map<String, String> parameters) {
        SessionSettings s = new SessionSettings();
        for (Map.Entry<String, String> p : parameters.entrySet()) {
            String name = p.getKey();
            if (!NOT_SETTINGS.contains(name) && !name.startsWith("_pq_.")) {
                s.startup.put(name.toLowerCase(Locale.ROOT), raw(p.getValue()));
            }
        }
        String options = parameters.get("options");
        if (options != null) {
            s.startup.putAll(parseOptions(options));
        }
        s.current.putAll(s.startup);
        return s;
    }

    /** The client ran {@code SET name TO valueSql} successfully outside a transaction block that was rolled back. */
    void set(String name, String valueSql) {
        current.put(name, "S" + valueSql);
    }

    /** {@code RESET name}: back to the startup value, or the server default. */
    void reset(String name) {
        String start = startup.get(name);
        if (start != null) {
            current.put(name, start);
        } else {
            current.remove(name);
        }
    }

    /**
     * {@code default_transaction_read_only} as set at startup or by a committed SET: transactions
     * that do not say READ WRITE are READ ONLY.
     */
    boolean defaultTransactionReadOnly() {
        String v = current.get("default_transaction_read_only");
        if (v == null) {
            return false;
        }
        String value = v.substring(1).replace("'", "").strip().toLowerCase(Locale.ROOT);
        // PostgreSQL's boolean spellings: on, true, yes, 1 and their unambiguous prefixes.
        return value.equals("on") || value.equals("1") || (!value.isEmpty()
                && ("true".startsWith(value) || "yes".startsWith(value)));
    }

    /** {@code RESET ALL} or {@code DISCARD ALL}. */
    void resetAll() {
        current.clear();
        current.putAll(startup);
    }

    /**
     * The query that brings a server whose applied settings are {@code applied} (as left by
     * {@link #applyTo}) to this client's settings, or null when they already match.
     */
    String syncQuery(Map<String, String> applied) {
        if (applied.equals(current)) {
            return null;
        }
        List<String> statements = new ArrayList<>();
        StringBuilder configs = new StringBuilder();
        for (Map.Entry<String, String> e : current.entrySet()) {
            String value = e.getValue();
            if (value.equals(applied.get(e.getKey()))) {
                continue;
            }
            if (value.charAt(0) == 'R') {
                configs.append(configs.isEmpty() ? "SELECT " : ", ").append("pg_catalog.set_config(")
                        .append(literal(e.getKey())).append(", ").append(literal(value.substring(1))).append(", false)");
            } else {
                statements.add("SET " + e.getKey() + " TO " + value.substring(1));
            }
        }
        for (String name : applied.keySet()) {
            if (!current.containsKey(name)) {
                statements.add("RESET " + name);
            }
        }
        if (!configs.isEmpty()) {
            statements.add(0, configs.toString());
        }
        return String.join("; ", statements);
    }

    /** Records on a server's applied settings that it now has this client's settings. */
    void applyTo(Map<String, String> applied) {
        applied.clear();
        applied.putAll(current);
    }

    /** A copy of the settings as they are now, to be restored if a transaction rolls back. */
    Map<String, String> snapshot() {
        return new HashMap<>(current);
    }

    void restore(Map<String, String> snapshot) {
        current.clear();
        current.putAll(snapshot);
    }

    private static String raw(String value) {
        return "R" + value;
    }

    /** An escape string literal, safe whatever standard_conforming_strings is. */
    static String literal(String value) {
        return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'";
    }

    /**
     * The settings in a startup {@code options} value: {@code -c name=value} or
     * {@code --name=value}, separated by spaces, a backslash escaping the next character.
     */
    static Map<String, String> parseOptions(String options) {
        Map<String, String> settings = new LinkedHashMap<>();
        List<String> words = words(options);
        for (int i = 0; i < words.size(); i++) {
            String w = words.get(i);
            String setting;
            if (w.equals("-c") && i + 1 < words.size()) {
                setting = words.get(++i);
            } else if (w.startsWith("-c")) {
                setting = w.substring(2);
            } else if (w.startsWith("--")) {
                setting = w.substring(2);
            } else {
                throw unsupportedOption(w);
            }
            int eq = setting.indexOf('=');
            if (eq <= 0) {
                throw unsupportedOption(w);
            }
            settings.put(setting.substring(0, eq).replace('-', '_').toLowerCase(Locale.ROOT), raw(setting.substring(eq + 1)));
        }
        return settings;
    }

    private static WireException unsupportedOption(String word) {
        return new WireException(SqlState.FEATURE_NOT_SUPPORTED, "startup option \"" + word
                + "\" is not supported in transaction pooling; only -c name=value and --name=value are");
    }

    private static List<String> words(String s) {
        List<String> words = new ArrayList<>();
        StringBuilder w = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                w.append(s.charAt(++i));
            } else if (Character.isWhitespace(c)) {
                if (!w.isEmpty()) {
                    words.add(w.toString());
                    w.setLength(0);
                }
            } else {
                w.append(c);
            }
        }
        if (!w.isEmpty()) {
            words.add(w.toString());
        }
        return words;
    }
}
