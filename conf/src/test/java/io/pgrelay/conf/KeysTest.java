package io.pgrelay.conf;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class KeysTest {
    @Test
    void suggestsNearKeysOnly() {
        assertEquals(Optional.of("pool.size"), Keys.suggestKey("pool.sise"));
        assertEquals(Optional.of("pool.size"), Keys.suggestKey("pool_size"));
        assertEquals(Optional.of("pool.query_wait_timeout"), Keys.suggestKey("pool.query_wait_timout"));
        assertEquals(Optional.of("auth.users_file"), Keys.suggestKey("auth.userfile"));
        assertEquals(Optional.of("nodes[3].weight"), Keys.suggestKey("nodes[3].wieght"));
        assertEquals(Optional.of("max_message_size"), Keys.suggestKey("max_msg_size"));
        assertEquals(Optional.of("admin.users"), Keys.suggestKey("admin.user"));
        assertEquals(Optional.empty(), Keys.suggestKey("colour"));
        assertEquals(Optional.empty(), Keys.suggestKey("pool.x"));
        assertEquals(Optional.of("LISTEN"), Keys.suggest("LISTN", List.of("LISTEN", "PRIMARY")));
        assertEquals(Optional.empty(), Keys.suggest("FOO", List.of("LISTEN", "PRIMARY")));
    }

    @Test
    void editDistance() {
        assertEquals(0, Keys.distance("size", "SIZE"));
        assertEquals(1, Keys.distance("sise", "size"));
        assertEquals(3, Keys.distance("kitten", "sitting"));
        assertEquals(4, Keys.distance("", "mode"));
    }
}
