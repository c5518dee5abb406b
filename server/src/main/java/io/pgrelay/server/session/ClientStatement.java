package io.pgrelay.server.session;

/**
 * A protocol-level prepared statement a client created with Parse, as pgrelay keeps it in
 * transaction pooling: its name on servers and the Parse body to prepare it again on a server
 * that lacks it.
 */
record ClientStatement(String serverName, byte[] body) {
}
