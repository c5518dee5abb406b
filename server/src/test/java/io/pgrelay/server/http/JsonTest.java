package io.pgrelay.server.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** JSON strings are escaped as RFC 8259 requires, so a path or reason cannot break the object. */
class JsonTest {
    @Test
    void escapesQuotesBackslashesAndControlCharacters() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("a\"b", "c\\d\ne\tf\u0001g\u00e9");
        m.put("empty", "");
        assertEquals("{\"a\\\"b\":\"c\\\\d\\ne\\tf\\u0001g\u00e9\",\"empty\":\"\"}", Json.object(m));
        assertEquals("{}", Json.object(Map.of()));
    }
}
