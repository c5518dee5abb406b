package io.pgrelay.server.reload;

import io.pgrelay.server.http.Json;
import java.util.List;
import java.util.StringJoiner;

/**
 * What a reload did: each changed key with its old and new value and whether it took effect, or
 * the problems that made the new configuration unusable (then nothing changed).
 */
public record ReloadResult(List<KeyChange> changed, List<String> errors) {
    public static final String APPLIED = "applied";
    public static final String RESTART_NEEDED = "restart_needed";

    public ReloadResult {
        changed = List.copyOf(changed);
        errors = List.copyOf(errors);
    }

    /** One changed key; {@code status} is {@link #APPLIED} or {@link #RESTART_NEEDED}. */
    public record KeyChange(String key, String oldValue, String newValue, String status) {
    }

    public boolean ok() {
        return errors.isEmpty();
    }

    /** {@code {"changed":[{"key","old","new","status"}],"errors":[...]}} */
    public String toJson() {
        StringJoiner rows = new StringJoiner(",", "[", "]");
        for (KeyChange c : changed) {
            rows.add("{\"key\":" + Json.quote(c.key()) + ",\"old\":" + Json.quote(c.oldValue()) + ",\"new\":"
                    + Json.quote(c.newValue()) + ",\"status\":" + Json.quote(c.status()) + "}");
        }
        StringJoiner problems = new StringJoiner(",", "[", "]");
        errors.forEach(e -> problems.add(Json.quote(e)));
        return "{\"changed\":" + rows + ",\"errors\":" + problems + "}";
    }

    /** One line for the log: the keys and their status, or the first problem. */
    public String summary() {
        if (!ok()) {
            return "reload refused, configuration unchanged: " + String.join("; ", errors);
        }
        if (changed.isEmpty()) {
            return "reload: no change";
        }
        return "reload: " + String.join(", ", changed.stream().map(c -> c.key() + " " + c.oldValue() + " -> "
                + c.newValue() + " (" + c.status() + ")").toList());
    }
}
