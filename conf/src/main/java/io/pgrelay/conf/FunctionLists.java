package io.pgrelay.conf;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Binds {@code routing.read_only_functions} and {@code routing.write_functions} (or pgpool's
 * {@code read_only_function_list} / {@code write_function_list}): comma-separated function names,
 * each an identifier or {@code "quoted identifier"}, optionally schema-qualified, or a prefix
 * ending in {@code *} (pgpool's {@code .*} too). Names are kept as written; the router folds them
 * as PostgreSQL folds identifiers.
 */
final class FunctionLists {
    private static final String IDENTIFIER = "(?:[\\p{L}_][\\p{L}\\p{N}_$]*|\"(?:[^\"]|\"\")+\")";
    /** name, schema.name, and either with a trailing * or .* (schema.* is every function of the schema). */
    private static final Pattern ENTRY = Pattern.compile(IDENTIFIER + "(?:\\." + IDENTIFIER + ")?(?:\\.?\\*)?");
    private static final String ALLOWED = "use function names separated by commas, optionally schema-qualified "
            + "(my_schema.my_fn, \"MixedCase\"), or a prefix ending in * (audit_*)";

    private FunctionLists() {
    }

    /** The names under {@code key} or its pgpool {@code alias}; a problem when both are set or a name is malformed. */
    static List<String> bind(RawConfig raw, String key, String alias, List<String> problems) {
        Raw value = raw.values.get(key);
        Raw aliased = raw.values.get(alias);
        if (value != null && aliased != null) {
            problems.add(value.where(key) + " and " + aliased.where(alias) + " are both set; " + alias
                    + " is pgpool's name for " + key + ", so keep one");
            return List.of();
        }
        String used = value != null ? key : alias;
        Raw chosen = value != null ? value : aliased;
        List<String> names = new ArrayList<>();
        if (chosen == null || chosen.text() == null) {
            return names;
        }
        for (String part : chosen.text().split(",", -1)) {
            String name = part.strip();
            if (name.isEmpty()) {
                continue;
            }
            if (!ENTRY.matcher(name).matches()) {
                problems.add(chosen.where(used) + ": " + Binder.quote(name) + " is not a function name; " + ALLOWED);
            } else if (!names.contains(name)) {
                names.add(name);
            }
        }
        return names;
    }
}
