package io.pgrelay.it.support;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A parser of the Prometheus text exposition format 0.0.4, strict enough to fail on what a
 * Prometheus server would reject: {@code # HELP} and {@code # TYPE} lines, then samples
 * {@code name{label="value",...} value [timestamp]}, each belonging to the family its TYPE
 * line announced.
 *
 * @see <a href="https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format">Prometheus:
 *     text-based format</a>
 */
public final class PrometheusText {
    private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\\\n]|\\\\[\\\\\"n])*)\"");
    private static final List<String> TYPES = List.of("counter", "gauge", "histogram", "summary", "untyped");
    private static final List<String> SUFFIXES = List.of("", "_total", "_count", "_sum", "_bucket", "_max",
            "_created");

    /** One sample line. */
    public record Sample(String name, Map<String, String> labels, double value) {
    }

    /** A metric family: its TYPE, HELP and samples. */
    public record Family(String name, String type, String help, List<Sample> samples) {
        /** The value of the one sample with these labels (among others), failing if there is not exactly one. */
        public double value(Map<String, String> labels) {
            List<Sample> matching = samples.stream()
                    .filter(s -> s.labels().entrySet().containsAll(labels.entrySet())).toList();
            if (matching.size() != 1) {
                throw new AssertionError(name + labels + " matches " + matching.size() + " samples: " + samples);
            }
            return matching.get(0).value();
        }
    }

    private PrometheusText() {
    }

    /** The families of a scrape by name, in the order they appear. */
    public static Map<String, Family> parse(String text) {
        Map<String, Family> families = new LinkedHashMap<>();
        Map<String, String> help = new LinkedHashMap<>();
        Family current = null;
        int lineNumber = 0;
        for (String line : text.split("\n", -1)) {
            lineNumber++;
            if (line.isEmpty()) {
                continue;
            }
            String at = "line " + lineNumber + ": " + line;
            if (line.startsWith("# HELP ")) {
                String[] parts = line.substring(7).split(" ", 2);
                help.put(name(parts[0], at), parts.length > 1 ? parts[1] : "");
            } else if (line.startsWith("# TYPE ")) {
                String[] parts = line.substring(7).split(" ");
                if (parts.length != 2 || !TYPES.contains(parts[1])) {
                    throw new IllegalArgumentException("bad TYPE, " + at);
                }
                String name = name(parts[0], at);
                if (families.containsKey(name)) {
                    throw new IllegalArgumentException("second TYPE for " + name + ", " + at);
                }
                current = new Family(name, parts[1], help.getOrDefault(name, ""), new ArrayList<>());
                families.put(name, current);
            } else if (line.startsWith("#")) {
                continue;
            } else {
                Sample s = sample(line, at);
                if (current == null || !belongs(s.name(), current.name())) {
                    throw new IllegalArgumentException("sample outside its family's TYPE, " + at);
                }
                current.samples().add(s);
            }
        }
        return families;
    }

    private static boolean belongs(String sample, String family) {
        return SUFFIXES.stream().anyMatch(suffix -> sample.equals(family + suffix))
                || (family.endsWith("_total") && sample.equals(family.substring(0, family.length() - 6) + "_created"));
    }

    private static Sample sample(String line, String at) {
        int brace = line.indexOf('{');
        int space = line.indexOf(' ');
        Map<String, String> labels = new LinkedHashMap<>();
        String name;
        String rest;
        if (brace >= 0 && (space < 0 || brace < space)) {
            name = name(line.substring(0, brace), at);
            int close = line.lastIndexOf('}');
            if (close < brace) {
                throw new IllegalArgumentException("no closing }, " + at);
            }
            String body = line.substring(brace + 1, close);
            Matcher m = LABEL.matcher(body);
            int pos = 0;
            while (pos < body.length()) {
                if (!m.find(pos) || m.start() != pos) {
                    throw new IllegalArgumentException("bad label at " + pos + ", " + at);
                }
                labels.put(m.group(1), m.group(2).replace("\\n", "\n").replace("\\\"", "\"").replace("\\\\", "\\"));
                pos = m.end();
                if (pos < body.length()) {
                    if (body.charAt(pos) != ',') {
                        throw new IllegalArgumentException("expected ',' between labels, " + at);
                    }
                    pos++;
                }
            }
            rest = line.substring(close + 1);
        } else {
            if (space < 0) {
                throw new IllegalArgumentException("no value, " + at);
            }
            name = name(line.substring(0, space), at);
            rest = line.substring(space);
        }
        String[] fields = rest.strip().split(" ");
        if (fields.length < 1 || fields.length > 2) {
            throw new IllegalArgumentException("expected a value and maybe a timestamp, " + at);
        }
        return new Sample(name, labels, value(fields[0], at));
    }

    private static double value(String text, String at) {
        return switch (text) {
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            case "NaN" -> Double.NaN;
            default -> {
                try {
                    yield Double.parseDouble(text);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("bad value, " + at);
                }
            }
        };
    }

    private static String name(String text, String at) {
        if (!NAME.matcher(text).matches()) {
            throw new IllegalArgumentException("bad metric name '" + text + "', " + at);
        }
        return text;
    }
}
