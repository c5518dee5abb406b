package io.pgrelay.conf;

import java.util.Optional;

/**
 * The HTTP admin endpoint: health probes, Prometheus metrics and the admin API.
 *
 * @param listen address of the admin endpoint; loopback by default
 * @param token  bearer token that requests other than health probes must present; required when
 *               {@code listen} is not a loopback address
 */
public record AdminConfig(HostPort listen, Optional<String> token) {

    /** Masks the token, so that printing a configuration cannot leak it. */
    @Override
    public String toString() {
        return "AdminConfig[listen=" + listen + ", token=" + (token.isPresent() ? "***" : "none") + "]";
    }
}
