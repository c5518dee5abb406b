package io.pgrelay.server.http;

import io.pgrelay.server.admin.View;
import java.util.List;
import java.util.Map;

/** Writes the small JSON documents the admin endpoint and the CLI answer with (RFC 8259 string escaping). */
public final class Json {
    private Json() {
    }

    /** A flat object, in the map's order; values are strings, numbers, booleans or null. */
    static String object(Map<String, ?> members) {
        StringBuilder sb = new StringBuilder("{");
        members.forEach((name, value) -> {
            if (sb.length() > 1) {
                sb.append(',');
            }
            quote(sb, name);
            sb.append(':');
            value(sb, value);
        });
        return sb.append('}').toString();
    }

    /** A view as an array with one object per row, whose members are the view's fields in order. */
    static String array(View view) {
        StringBuilder sb = new StringBuilder("[");
        List<View.Field> fields = view.fields();
        for (List<Object> row : view.rows()) {
            if (sb.length() > 1) {
                sb.append(',');
            }
            sb.append('{');
            for (int i = 0; i < fields.size(); i++) {
                if (i > 0) {
                    sb.append(',');
                }
                quote(sb, fields.get(i).name());
                sb.append(':');
                value(sb, row.get(i));
            }
            sb.append('}');
        }
        return sb.append(']').toString();
    }

    private static void value(StringBuilder sb, Object value) {
        if (value == null) {
            sb.append("null");
        } else if (value instanceof Long || value instanceof Integer || value instanceof Boolean) {
            sb.append(value);
        } else {
            quote(sb, value.toString());
        }
    }

    /** {@code text} as a JSON string literal. */
    public static String quote(String text) {
        StringBuilder sb = new StringBuilder(text.length() + 2);
        quote(sb, text);
        return sb.toString();
    }

    static void quote(StringBuilder sb, String text) {
        sb.append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        sb.append('"');
    }
}
