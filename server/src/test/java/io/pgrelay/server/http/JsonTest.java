package io.pgrelay.server.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgrelay.server.admin.View;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
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

    @Test
    void aViewIsAnArrayOfObjectsWithTypedValues() {
        View v = new View(List.of(new View.Field("name", View.Type.TEXT), new View.Field("port", View.Type.INT8),
                new View.Field("paused", View.Type.BOOL)),
                List.of(Arrays.asList("a\"b", 5432L, true), Arrays.asList(null, null, false)));
        assertEquals("[{\"name\":\"a\\\"b\",\"port\":5432,\"paused\":true},"
                + "{\"name\":null,\"port\":null,\"paused\":false}]", Json.array(v));
        assertEquals("[]", Json.array(new View(v.fields(), List.of())));
    }
}
