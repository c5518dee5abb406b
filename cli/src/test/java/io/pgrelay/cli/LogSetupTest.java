package io.pgrelay.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.util.ContextInitializer;
import io.pgrelay.conf.LogConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** log.format and log.level applied to Logback: JSON lines that parse, levels that filter. */
class LogSetupTest {
    private final ByteArrayOutputStream captured = new ByteArrayOutputStream();
    private PrintStream originalErr;

    @BeforeEach
    void captureStandardError() {
        originalErr = System.err;
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    }

    @AfterEach
    void restore() throws Exception {
        System.setErr(originalErr);
        // Back to logback.xml, so the next test starts from the shipped configuration.
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        context.reset();
        new ContextInitializer(context).autoConfig();
    }

    private List<String> lines() {
        return captured.toString(StandardCharsets.UTF_8).lines().toList();
    }

    @Test
    void jsonModeWritesOneParseableObjectPerLine() {
        LogSetup.apply(new LogConfig(LogConfig.Level.DEBUG, LogConfig.Format.JSON));
        Logger log = LoggerFactory.getLogger("io.pgrelay.test");
        log.info("client {} said \"hi\"\nand then\ta tab", "10.0.0.1:5000");
        log.debug("debug shows at level debug");
        log.warn("with a stack trace", new IllegalStateException("boom"));
        LoggerFactory.getLogger("io.netty.test").info("netty keeps its own level: warn");

        List<String> lines = lines();
        assertEquals(3, lines.size(), () -> String.join("\n", lines));
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> events = lines.stream().map(l -> (Map<String, Object>) JsonReader.parse(l)).toList();
        assertEquals("INFO", events.get(0).get("level"));
        assertEquals("io.pgrelay.test", events.get(0).get("loggerName"));
        assertEquals("client 10.0.0.1:5000 said \"hi\"\nand then\ta tab", events.get(0).get("formattedMessage"));
        assertInstanceOf(Double.class, events.get(0).get("timestamp"));
        assertEquals("DEBUG", events.get(1).get("level"));
        assertEquals("WARN", events.get(2).get("level"));
        @SuppressWarnings("unchecked")
        Map<String, Object> thrown = (Map<String, Object>) events.get(2).get("throwable");
        assertEquals("java.lang.IllegalStateException", thrown.get("className"));
        assertEquals("boom", thrown.get("message"));
        assertFalse(events.get(0).containsKey("arguments"), "arguments are left out: the message has them");
    }

    @Test
    void textModeKeepsReadableLinesAndTheLevelFilters() {
        LogSetup.apply(new LogConfig(LogConfig.Level.WARN, LogConfig.Format.TEXT));
        Logger log = LoggerFactory.getLogger("io.pgrelay.test");
        log.info("not shown at warn");
        log.warn("shown at warn");
        List<String> lines = lines();
        assertEquals(1, lines.size(), () -> String.join("\n", lines));
        assertTrue(lines.get(0).matches("\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3} WARN  \\[.+] test - shown at warn"),
                lines.get(0));
    }

    @Test
    void applyingJsonTwiceLeavesOneAppender() {
        LogConfig json = new LogConfig(LogConfig.Level.INFO, LogConfig.Format.JSON);
        LogSetup.apply(json);
        LogSetup.apply(json);
        LoggerFactory.getLogger("io.pgrelay.test").info("once");
        assertEquals(1, lines().size(), () -> String.join("\n", lines()));
    }
}
