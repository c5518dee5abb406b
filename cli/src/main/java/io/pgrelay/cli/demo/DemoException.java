package io.pgrelay.cli.demo;

/** A step of {@code pgrelay demo} that failed; the message says which and why, for the terminal. */
final class DemoException extends RuntimeException {
    DemoException(String message) {
        super(message);
    }

    DemoException(String message, Throwable cause) {
        super(message, cause);
    }
}
