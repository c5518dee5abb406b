package io.pgrelay.server.admin;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A table of the admin views (pools, clients, stats, ...), built once and shown by both the
 * admin console (as a result set) and the HTTP API (as a JSON array of objects).
 *
 * @param fields the columns, in order; names are snake_case, the JSON member names
 * @param rows   one list of values per row, each a {@link String}, {@link Long}, {@link Boolean} or null
 */
public record View(List<Field> fields, List<List<Object>> rows) {
    public View {
        fields = List.copyOf(fields);
        // Values may be null (no backend pid, no pin reason), which List.copyOf refuses.
        rows = rows.stream().map(r -> Collections.unmodifiableList(new ArrayList<>(r))).toList();
        for (List<Object> r : rows) {
            if (r.size() != fields.size()) {
                throw new IllegalArgumentException("a row has " + r.size() + " values for " + fields.size() + " fields");
            }
        }
    }

    /** What a field holds: the console shows TEXT and BOOL as text, INT8 as int8. */
    public enum Type { TEXT, INT8, BOOL }

    public record Field(String name, Type type) {
        static Field text(String name) {
            return new Field(name, Type.TEXT);
        }

        static Field int8(String name) {
            return new Field(name, Type.INT8);
        }

        static Field bool(String name) {
            return new Field(name, Type.BOOL);
        }
    }
}
