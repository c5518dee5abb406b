package io.pgrelay.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;
import io.pgrelay.conf.LogConfig;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.slf4j.LoggerFactory;

/** Applies {@code log.level} and {@code log.format} to Logback, which logback.xml set up with text lines. */
final class LogSetup {
    static final String JSON_APPENDER = "JSON";

    private LogSetup() {
    }

    /** Sets the root level alone, as a reload of {@code log.level} does. */
    static void level(LogConfig.Level level) {
        if (LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
            context.getLogger(Logger.ROOT_LOGGER_NAME).setLevel(Level.toLevel(level.name()));
        }
    }

    /**
     * Sets the root level and, for JSON, replaces the console appenders of the root logger with one
     * that writes a JSON object per line to standard error. Loggers given a level of their own in the
     * Logback configuration (io.netty) keep it.
     */
    static void apply(LogConfig config) {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return;
        }
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.toLevel(config.level().name()));
        if (config.format() != LogConfig.Format.JSON || root.getAppender(JSON_APPENDER) != null) {
            return;
        }
        List<Appender<ILoggingEvent>> consoles = new ArrayList<>();
        for (Iterator<Appender<ILoggingEvent>> it = root.iteratorForAppenders(); it.hasNext(); ) {
            Appender<ILoggingEvent> appender = it.next();
            if (appender instanceof ConsoleAppender) {
                consoles.add(appender);
            }
        }
        root.addAppender(jsonAppender(context));
        for (Appender<ILoggingEvent> text : consoles) {
            root.detachAppender(text);
            text.stop();
        }
    }

    private static ConsoleAppender<ILoggingEvent> jsonAppender(LoggerContext context) {
        JsonEncoder encoder = new JsonEncoder();
        encoder.setContext(context);
        // What a log shipper indexes; the rest (sequence numbers, nanoseconds, the context's
        // properties, the unformatted message and its arguments) only makes lines longer.
        encoder.setWithSequenceNumber(false);
        encoder.setWithNanoseconds(false);
        encoder.setWithContext(false);
        encoder.setWithMessage(false);
        encoder.setWithArguments(false);
        encoder.setWithFormattedMessage(true);
        encoder.start();
        ConsoleAppender<ILoggingEvent> appender = new ConsoleAppender<>();
        appender.setContext(context);
        appender.setName(JSON_APPENDER);
        appender.setTarget("System.err");
        appender.setEncoder(encoder);
        appender.start();
        return appender;
    }
}
