package io.pgrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Tables line up under their headers: text left, numbers right, booleans yes/no, null empty. */
class TableTest {
    @Test
    void alignsColumnsOfTheApisJson() {
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> rows = (List<Map<String, Object>>) JsonReader.parse("""
                [{"database":"app","user":"app","cl_active":2,"paused":false,"pinned":null},
                 {"database":"warehouse","user":"etl","cl_active":12,"paused":true,"pinned":"temp table"}]
                """);

        assertEquals("""
                database   user  cl_active  paused  pinned
                app        app           2  no
                warehouse  etl          12  yes     temp table
                """, Table.render(rows));
    }

    @Test
    void aWideHeaderSetsTheWidthAndFractionsStay() {
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> rows = (List<Map<String, Object>>) JsonReader.parse(
                "[{\"n\":\"x\",\"total_query_count\":1.5}]");

        assertEquals("""
                n  total_query_count
                x                1.5
                """, Table.render(rows));
        assertEquals("", Table.render(List.of()));
    }
}
