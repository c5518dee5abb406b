package io.pgrelay.server.http;

import java.util.Optional;

/** Whether pgrelay should get traffic now; {@code GET /health/ready} answers 503 with the reason when not. */
@FunctionalInterface
public interface Readiness {
    /** Empty when ready; otherwise why not, e.g. {@code draining}. */
    Optional<String> whyNotReady();
}
