package io.pgrelay.conf;

import java.time.Duration;
import java.util.List;

/**
 * Commands run on topology events, through {@code /bin/sh -c} with {@code %{name}} placeholders
 * replaced. Empty means no command.
 *
 * @param onFailover command run after a standby was promoted
 * @param onNodeDown command run when a node goes DOWN
 * @param timeout    how long a command may run before it is killed
 */
public record HooksConfig(String onFailover, String onNodeDown, Duration timeout) {
    /** Placeholders {@link #onFailover()} may use. */
    public static final List<String> FAILOVER_PLACEHOLDERS =
            List.of("old_primary", "new_primary", "old_lsn", "new_lsn", "new_host", "new_port");
    /** Placeholders {@link #onNodeDown()} may use. */
    public static final List<String> NODE_DOWN_PLACEHOLDERS = List.of("node", "host", "port");
}
