package io.pgrelay.conf;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * Reads the YAML configuration file into a {@link RawConfig}, checking its shape: known keys,
 * sections that are mappings, lists that are lists. Values stay text for {@link Binder} to parse.
 *
 * <p>The file is composed into snakeyaml nodes rather than constructed into Java objects, so every
 * value keeps its line number, YAML 1.1 oddities ({@code 6432:10} as a base-60 integer) cannot
 * change a value, and no tag can instantiate a class.
 */
final class YamlSource {
    private final Path file;
    private final List<String> problems;
    private final RawConfig raw = new RawConfig();

    private YamlSource(Path file, List<String> problems) {
        this.file = file;
        this.problems = problems;
    }

    /**
     * Reads {@code file}, adding what is wrong to {@code problems}.
     *
     * @return the settings, or {@code null} when the file could not be read or parsed at all
     */
    static RawConfig read(Path file, List<String> problems) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            problems.add("config file " + file + " does not exist");
            return null;
        } catch (CharacterCodingException e) {
            problems.add("config file " + file + " is not UTF-8 text");
            return null;
        } catch (IOException e) {
            problems.add("cannot read config file " + file + ": " + e.getMessage());
            return null;
        }
        Node root;
        try {
            root = new Yaml(new LoaderOptions()).compose(new StringReader(text));
        } catch (MarkedYAMLException e) {
            Mark mark = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
            String at = mark == null ? file.toString() : file + ":" + (mark.getLine() + 1) + ":" + (mark.getColumn() + 1);
            problems.add(at + ": not valid YAML: " + e.getProblem());
            return null;
        } catch (YAMLException e) {
            problems.add(file + ": not valid YAML: " + e.getMessage());
            return null;
        }
        YamlSource source = new YamlSource(file, problems);
        if (root == null || isNull(root)) {
            return source.raw;
        }
        if (!(root instanceof MappingNode)) {
            problems.add(file + ": expected keys such as listen, nodes, auth and pool at the top level, not "
                    + describe(root));
            return null;
        }
        source.readTop(root);
        return source.raw;
    }

    private void readTop(Node root) {
        forEachKey("", root, (key, value) -> {
            switch (key) {
                case Keys.LISTEN, Keys.PRIMARY, Keys.MAX_MESSAGE_SIZE, Keys.STARTUP_TIMEOUT,
                     Keys.SHUTDOWN_TIMEOUT, Keys.EVENT_LOOP_THREADS -> scalar(key, value);
                case Keys.REPLICAS -> replicas(value);
                case Keys.NODES -> {
                    raw.nodes = items(key, value, Keys.NODE_FIELDS);
                    raw.nodesOrigin = origin(value);
                }
                case Keys.DATABASES -> raw.databases = items(key, value, Keys.DATABASE_FIELDS);
                case Keys.USERS -> raw.users = items(key, value, Keys.USER_FIELDS);
                case "auth" -> forEachKey("auth.", value, (authKey, authValue) -> {
                    if (authKey.equals("users_file")) {
                        scalar(Keys.USERS_FILE, authValue);
                        raw.usersFileBase = file.toAbsolutePath().getParent();
                    } else if (authKey.equals("rules")) {
                        raw.rules = items(Keys.RULES, authValue, Keys.RULE_FIELDS);
                    } else {
                        unknownKey("auth." + authKey, authValue);
                    }
                });
                case "admin" -> forEachKey("admin.", value, (adminKey, adminValue) -> {
                    if (adminKey.equals("users")) {
                        raw.adminUsers = scalars(Keys.ADMIN_USERS, adminValue, "[\"admin\", \"ops\"]");
                    } else if (Keys.ADMIN_FIELDS.contains(adminKey)) {
                        scalar("admin." + adminKey, adminValue);
                    } else {
                        unknownKey("admin." + adminKey, adminValue);
                    }
                });
                default -> {
                    List<String> fields = Keys.SECTIONS.get(key);
                    if (fields == null) {
                        unknownKey(key, value);
                    } else {
                        section(key + ".", value, fields);
                    }
                }
            }
        });
        if (raw.nodes != null && (raw.values.containsKey(Keys.PRIMARY) || raw.replicas != null)) {
            String shorthand = raw.values.containsKey(Keys.PRIMARY)
                    ? raw.values.get(Keys.PRIMARY).where(Keys.PRIMARY)
                    : Keys.REPLICAS + " (" + raw.replicasOrigin + ")";
            problems.add(Keys.NODES + " (" + raw.nodesOrigin + ") and " + shorthand
                    + " are both set; describe the servers either with a nodes list or with primary and replicas");
        }
    }

    /** A section of single values, such as {@code pool:}, whose keys must be among {@code fields}. */
    private void section(String prefix, Node value, List<String> fields) {
        forEachKey(prefix, value, (key, keyValue) -> {
            if (Keys.FUNCTION_LIST_KEYS.contains(prefix + key)) {
                functionList(prefix + key, keyValue);
            } else if (fields.contains(key)) {
                scalar(prefix + key, keyValue);
            } else {
                unknownKey(prefix + key, keyValue);
            }
        });
    }

    /**
     * Calls {@code action} with each key of a mapping and its value, reporting duplicate keys.
     * A section written with no value ({@code pool:}) counts as empty.
     *
     * @param prefix the section's dotted path with a trailing dot, for messages
     */
    private void forEachKey(String prefix, Node node, BiConsumer<String, Node> action) {
        if (isNull(node)) {
            return;
        }
        String section = prefix.isEmpty() ? "" : prefix.substring(0, prefix.length() - 1);
        if (!(node instanceof MappingNode mapping)) {
            problems.add(section + " (" + origin(node) + "): expected a mapping of keys, not " + describe(node));
            return;
        }
        Map<String, Integer> seen = new HashMap<>();
        for (NodeTuple tuple : mapping.getValue()) {
            Node keyNode = tuple.getKeyNode();
            if (!(keyNode instanceof ScalarNode scalarKey)) {
                problems.add(file + ":" + line(keyNode) + ": a key must be a plain name, not " + describe(keyNode));
                continue;
            }
            String key = scalarKey.getValue();
            Integer previous = seen.putIfAbsent(key, line(keyNode));
            if (previous != null) {
                problems.add(prefix + key + " (from " + file + ":" + line(keyNode) + "): duplicate key, already set on line "
                        + previous + "; set each key once");
                continue;
            }
            action.accept(key, tuple.getValueNode());
        }
    }

    private void scalar(String key, Node node) {
        Raw value = scalarValue(key, node);
        if (value != null) {
            raw.values.put(key, value);
        }
    }

    /** The text of a scalar node, {@code null} (and a problem) for a list or mapping. */
    private Raw scalarValue(String key, Node node) {
        if (node instanceof ScalarNode scalar) {
            return new Raw(isNull(scalar) ? null : scalar.getValue(), origin(node));
        }
        problems.add(key + " (" + origin(node) + "): expected a single value, not " + describe(node));
        return null;
    }

    /**
     * A list of function names, as a YAML list or as pgpool writes it, one comma-separated string;
     * kept as that string, the form the environment gives too.
     */
    private void functionList(String key, Node node) {
        if (node instanceof SequenceNode) {
            List<Raw> names = scalars(key, node, "[\"my_read_only_fn\", \"audit.*\"]");
            if (names != null) {
                raw.values.put(key, new Raw(String.join(",", names.stream()
                        .map(n -> n.text() == null ? "" : n.text()).toList()), origin(node)));
            }
        } else {
            scalar(key, node);
        }
    }

    private void replicas(Node node) {
        raw.replicasOrigin = origin(node);
        raw.replicas = scalars(Keys.REPLICAS, node, "[\"10.0.0.2:5432\", \"10.0.0.3:5432\"]");
    }

    /** A list of single values; empty for no value, {@code null} (and a problem) for another shape. */
    private List<Raw> scalars(String key, Node node, String example) {
        if (isNull(node)) {
            return List.of();
        }
        if (!(node instanceof SequenceNode sequence)) {
            problems.add(key + " (" + origin(node) + "): expected a list such as " + example + ", not " + describe(node));
            return null;
        }
        List<Raw> values = new ArrayList<>();
        List<Node> elements = sequence.getValue();
        for (int i = 0; i < elements.size(); i++) {
            Raw value = scalarValue(key + "[" + i + "]", elements.get(i));
            if (value != null) {
                values.add(value);
            }
        }
        return values;
    }

    /** A list of mappings whose keys must be among {@code fields}. */
    private List<RawItem> items(String key, Node node, List<String> fields) {
        if (isNull(node)) {
            return List.of();
        }
        if (!(node instanceof SequenceNode sequence)) {
            problems.add(key + " (" + origin(node) + "): expected a list of mappings with keys "
                    + String.join(", ", fields) + ", not " + describe(node));
            return List.of();
        }
        List<RawItem> items = new ArrayList<>();
        List<Node> elements = sequence.getValue();
        for (int i = 0; i < elements.size(); i++) {
            String path = key + "[" + i + "]";
            Node element = elements.get(i);
            if (!(element instanceof MappingNode)) {
                problems.add(path + " (" + origin(element) + "): expected a mapping with keys "
                        + String.join(", ", fields) + ", not " + describe(element));
                continue;
            }
            Map<String, Raw> values = new LinkedHashMap<>();
            forEachKey(path + ".", element, (field, value) -> {
                if (!fields.contains(field)) {
                    unknownKey(path + "." + field, value);
                    return;
                }
                Raw fieldValue = scalarValue(path + "." + field, value);
                if (fieldValue != null) {
                    values.put(field, fieldValue);
                }
            });
            items.add(new RawItem(path, origin(element), values));
        }
        return items;
    }

    private void unknownKey(String path, Node value) {
        problems.add("unknown key " + path + " (" + origin(value) + ")"
                + Keys.suggestKey(path).map(s -> "; did you mean " + s + "?").orElse(""));
    }

    private String origin(Node node) {
        return "from " + file + ":" + line(node);
    }

    private static int line(Node node) {
        return node.getStartMark() == null ? 0 : node.getStartMark().getLine() + 1;
    }

    private static boolean isNull(Node node) {
        return node instanceof ScalarNode && Tag.NULL.equals(node.getTag());
    }

    private static String describe(Node node) {
        return switch (node) {
            case MappingNode m -> "a mapping";
            case SequenceNode s -> "a list";
            default -> "a single value";
        };
    }
}
