package io.pgrelay.conf;

import java.util.Map;

/**
 * One element of a list of mappings in the YAML file ({@code nodes}, {@code auth.rules}).
 *
 * @param path   the element's key, e.g. {@code nodes[1]}
 * @param origin where the element starts, e.g. {@code from pgrelay.yaml:7}
 * @param fields the element's known keys (unknown ones are reported while reading)
 */
record RawItem(String path, String origin, Map<String, Raw> fields) {
    RawItem {
        fields = Map.copyOf(fields);
    }

    String where() {
        return path + " (" + origin + ")";
    }
}
