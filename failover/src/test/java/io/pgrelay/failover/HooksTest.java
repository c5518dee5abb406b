package io.pgrelay.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;

class HooksTest {
    @Test
    void placeholdersAreReplacedAndUnknownOnesBecomeEmpty() {
        assertEquals("notify pg1 -> pg2 at 0/3000060 ()",
                Hooks.expand("notify %{old_primary} -> %{new_primary} at %{new_lsn} (%{node})",
                        Map.of("old_primary", "pg1", "new_primary", "pg2", "new_lsn", "0/3000060")));
        assertEquals("a $1 \\ b", Hooks.expand("a %{x} b", Map.of("x", "$1 \\")));
    }
}
