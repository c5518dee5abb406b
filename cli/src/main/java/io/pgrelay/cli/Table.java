package io.pgrelay.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Renders the admin API's arrays of objects as aligned text tables, one row per object. */
final class Table {
    private Table() {
    }

    /**
     * A header of the member names, then one line per object; numbers right-aligned, booleans as
     * yes/no, null as empty. Columns are the first object's members, in its order.
     */
    static String render(List<Map<String, Object>> rows) {
        if (rows.isEmpty()) {
            return "";
        }
        List<String> columns = List.copyOf(rows.get(0).keySet());
        List<List<String>> cells = new ArrayList<>();
        int[] width = new int[columns.size()];
        boolean[] numeric = new boolean[columns.size()];
        for (int i = 0; i < columns.size(); i++) {
            width[i] = columns.get(i).length();
            numeric[i] = true;
        }
        for (Map<String, Object> row : rows) {
            List<String> line = new ArrayList<>(columns.size());
            for (int i = 0; i < columns.size(); i++) {
                Object v = row.get(columns.get(i));
                numeric[i] &= v == null || v instanceof Number;
                String text = cell(v);
                width[i] = Math.max(width[i], text.length());
                line.add(text);
            }
            cells.add(line);
        }
        StringBuilder sb = new StringBuilder();
        line(sb, columns, width, numeric);
        for (List<String> line : cells) {
            line(sb, line, width, numeric);
        }
        return sb.toString();
    }

    private static void line(StringBuilder sb, List<String> cells, int[] width, boolean[] numeric) {
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < cells.size(); i++) {
            if (i > 0) {
                line.append("  ");
            }
            String c = cells.get(i);
            String pad = " ".repeat(width[i] - c.length());
            line.append(numeric[i] ? pad + c : c + pad);
        }
        // Padding after the last column is noise in a terminal and in diffs.
        sb.append(line.toString().stripTrailing()).append('\n');
    }

    private static String cell(Object v) {
        if (v == null) {
            return "";
        }
        if (v instanceof Boolean b) {
            return b ? "yes" : "no";
        }
        if (v instanceof Double d && d == Math.rint(d) && !d.isInfinite() && Math.abs(d) < 1e15) {
            return Long.toString(d.longValue());
        }
        return v.toString();
    }
}
