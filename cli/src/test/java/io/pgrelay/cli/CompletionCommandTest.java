package io.pgrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code pgrelay completion}: a bash script that bash accepts and that completes pgrelay's commands. */
class CompletionCommandTest {
    @TempDir
    Path dir;

    private static String script() {
        StringWriter out = new StringWriter();
        CommandLine cl = PgRelayCli.commandLine().setOut(new PrintWriter(out));
        assertEquals(0, cl.execute("completion"));
        return out.toString();
    }

    /** The words bash offers after {@code line} (which ends where the cursor is). */
    private List<String> complete(Path script, String line) throws Exception {
        String words = line.endsWith(" ") ? line + "''" : line;
        String probe = "source " + script + "\n"
                + "COMP_LINE='" + line + "'; COMP_POINT=${#COMP_LINE}\n"
                + "COMP_WORDS=(" + words + "); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))\n"
                + "_complete_pgrelay pgrelay\n"
                + "printf '%s\\n' \"${COMPREPLY[@]}\"\n";
        Process p = new ProcessBuilder("bash", "-c", probe).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        return out.lines().map(String::strip).filter(s -> !s.isEmpty()).toList();
    }

    @Test
    void scriptNamesEveryCommandAndServeOption() {
        String script = script();
        for (String word : List.of("serve", "check-config", "passwd", "completion", "--pool-size", "--primary",
                "--stdin")) {
            assertTrue(script.contains(word), () -> "completion script lacks " + word);
        }
    }

    @Test
    void bashParsesTheScriptAndCompletesCommandsAndOptions() throws Exception {
        Path script = Files.writeString(dir.resolve("pgrelay.bash"), script());
        Process check = new ProcessBuilder("bash", "-n", script.toString()).redirectErrorStream(true).start();
        String syntax = new String(check.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(check.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, check.exitValue(), syntax);

        assertTrue(complete(script, "pgrelay ").containsAll(Set.of("serve", "check-config", "passwd", "completion")));
        assertEquals(List.of("serve"), complete(script, "pgrelay se"));
        assertTrue(complete(script, "pgrelay serve --pool-").containsAll(Set.of("--pool-size", "--pool-mode")));
    }
}
