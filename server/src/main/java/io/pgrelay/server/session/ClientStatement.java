package io.pgrelay.server.session;

import io.pgrelay.router.sql.SessionEffect;
import java.util.List;

/**
 * A protocol-level prepared statement a client created with Parse, as pgrelay keeps it in
 * transaction pooling: its name on servers, the Parse body to prepare it again on a server that
 * lacks it, and what running it does to the session (its effects; whether it is a ROLLBACK).
 */
record ClientStatement(String serverName, byte[] body, List<SessionEffect> effects, boolean rollsBack) {
}
