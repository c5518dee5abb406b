package io.pgrelay.conf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UsersFileTest {
    @TempDir
    Path dir;

    @Test
    void parsesEveryForm() throws IOException {
        Path file = dir.resolve("users.txt");
        Files.writeString(file, """
                \uFEFF# comment
                   # indented comment

                plain: pass:with:colons # and a hash
                "odd:user name": s3cret
                "say \\"hi\\" \\\\": x
                hashed:md50123456789abcdef0123456789abcdef
                \t tabbed \t:\t  padded secret \t
                """);
        Map<String, String> users = UsersFile.read(file);
        assertEquals(List.of("plain", "odd:user name", "say \"hi\" \\", "hashed", "tabbed"), List.copyOf(users.keySet()));
        assertEquals("pass:with:colons # and a hash", users.get("plain"));
        assertEquals("s3cret", users.get("odd:user name"));
        assertEquals("md50123456789abcdef0123456789abcdef", users.get("hashed"));
        assertEquals("padded secret", users.get("tabbed"));
    }

    @Test
    void emptyFileHasNoUsers() throws IOException {
        Path file = dir.resolve("users.txt");
        Files.writeString(file, "# nobody yet\n");
        assertEquals(Map.of(), UsersFile.read(file));
    }

    @Test
    void problemsHaveLineNumbers() {
        ConfigException e = assertThrows(ConfigException.class, () -> UsersFile.parse(List.of(
                "# header", "\"quoted\" secret", ": nameless", "ok: 1", "ok: 2", "ok: 3"), "u.txt"));
        assertEquals(List.of(
                "u.txt:2: expected ':' after the quoted user name",
                "u.txt:3: the user name is empty",
                "u.txt: user 'ok' is on lines 4 and 5; each user may appear once",
                "u.txt: user 'ok' is on lines 4 and 6; each user may appear once"), e.problems());
    }

    @Test
    void notUtf8() throws IOException {
        Path file = dir.resolve("users.txt");
        Files.write(file, new byte[] {'a', ':', ' ', (byte) 0xC3, (byte) 0x28});
        ConfigException e = assertThrows(ConfigException.class, () -> UsersFile.read(file));
        assertEquals(List.of("cannot read users file " + file + ": it is not UTF-8 text"), e.problems());
    }

    @Test
    void directoryIsNotAUsersFile() {
        ConfigException e = assertThrows(ConfigException.class, () -> UsersFile.read(dir));
        assertTrue(e.getMessage().startsWith("cannot read users file " + dir + ": "), e.getMessage());
    }
}
