package io.pgrelay.conf;

import java.util.List;

/**
 * A configuration that cannot be used. Each problem names the key, the value and what is allowed,
 * e.g. {@code pool.size: -1 is not allowed; use an integer from 1 to 10000}.
 */
public class ConfigException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final List<String> problems;

    public ConfigException(List<String> problems) {
        super(String.join("\n", problems));
        this.problems = List.copyOf(problems);
    }

    public ConfigException(String problem) {
        this(List.of(problem));
    }

    public List<String> problems() {
        return problems;
    }
}
