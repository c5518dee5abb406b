package io.pgrelay.cli;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/** Calls a running pgrelay's admin API ({@code /api/v1/...}) over HTTP with the bearer token, if any. */
final class AdminClient {
    /** PAUSE answers after up to 10 s of waiting for leases; leave room for it. */
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);

    private final URI base;
    private final Optional<String> token;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    AdminClient(URI base, Optional<String> token) {
        this.base = base;
        this.token = token;
    }

    URI base() {
        return base;
    }

    Optional<String> token() {
        return token;
    }

    /** The body of a successful answer to {@code method} on {@code /api/v1/<endpoint>}. */
    String call(String method, String endpoint) throws AdminException {
        URI uri = URI.create(base + "/api/v1/" + endpoint);
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(REQUEST_TIMEOUT)
                .method(method, HttpRequest.BodyPublishers.noBody());
        token.ifPresent(t -> b.header("Authorization", "Bearer " + t));
        HttpResponse<String> r;
        try {
            r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (HttpTimeoutException e) {
            throw new AdminException("pgrelay's admin endpoint at " + base + " did not answer " + method + " "
                    + uri.getPath() + " within " + REQUEST_TIMEOUT.toSeconds() + "s");
        } catch (IOException e) {
            throw new AdminException("cannot reach pgrelay's admin endpoint at " + base + ": "
                    + (e.getMessage() != null ? e.getMessage()
                            : e instanceof ConnectException ? "connection refused" : e.getClass().getSimpleName())
                    + "; is pgrelay running there? (set it with --admin, PGRELAY_ADMIN or --config)");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AdminException("interrupted while waiting for " + base);
        }
        if (r.statusCode() / 100 == 2) {
            return r.body();
        }
        String message = errorMessage(r.body());
        if (r.statusCode() == 401) {
            throw new AdminException("pgrelay at " + base + " refused the request: " + message
                    + (token.isEmpty() ? "; give the token with PGRELAY_ADMIN_TOKEN or --token" : "; the token is wrong"));
        }
        throw new AdminException("pgrelay at " + base + " answered " + method + " " + uri.getPath() + " with "
                + r.statusCode() + ": " + message);
    }

    /** The {@code message} of the API's JSON error, or the body as it is. */
    private static String errorMessage(String body) {
        try {
            if (JsonReader.parse(body) instanceof Map<?, ?> m && m.get("message") instanceof String s) {
                return s;
            }
        } catch (IllegalArgumentException notJson) {
            // Not pgrelay, perhaps: show what came back.
        }
        return body.strip();
    }

    /** A failed admin call; the message says what and where. Exit code 1. */
    static final class AdminException extends Exception {
        AdminException(String message) {
            super(message);
        }
    }
}
