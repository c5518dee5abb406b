package io.pgrelay.server.http;

import java.util.Map;

/** Writes the small JSON objects the admin endpoint answers with (RFC 8259 string escaping). */
final class Json {
    private Json() {
    }

    /** A flat object of string members, in the map's order. */
    static String object(Map<String, String> members) {
        StringBuilder sb = new StringBuilder("{");
        members.forEach((name, value) -> {
            if (sb.length() > 1) {
                sb.append(',');
            }
            quote(sb, name);
            sb.append(':');
            quote(sb, value);
        });
        return sb.append('}').toString();
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
