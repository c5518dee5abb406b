package io.pgrelay.server.http;

import java.io.IOException;

/** The admin endpoint could not bind {@code admin.listen}; the message names the address and why. */
public final class AdminBindException extends IOException {
    AdminBindException(String message, Throwable cause) {
        super(message, cause);
    }
}
