package io.pgrelay.conf;

/**
 * Logging: how much pgrelay logs and in which form.
 *
 * @param level  the least severe level written
 * @param format readable text lines, or one JSON object per line for log shippers
 */
public record LogConfig(Level level, Format format) {

    /** Log levels, least severe first. */
    public enum Level { TRACE, DEBUG, INFO, WARN, ERROR }

    /** Console line formats. */
    public enum Format {
        /** One readable line per event. */
        TEXT,
        /** One JSON object per line. */
        JSON
    }
}
