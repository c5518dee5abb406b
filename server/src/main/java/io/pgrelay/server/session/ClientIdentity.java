package io.pgrelay.server.session;

import java.time.Instant;

/**
 * Who a client connection is, from its StartupMessage, for the admin views.
 *
 * @param since when pgrelay read the StartupMessage, right after the client connected
 */
public record ClientIdentity(String user, String database, Instant since) {
}
