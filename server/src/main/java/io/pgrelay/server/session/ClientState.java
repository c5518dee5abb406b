package io.pgrelay.server.session;

/** Where a client connection is in its life. */
public enum ClientState {
    /** Connected; waiting for the StartupMessage (SSLRequest and the like may come first). */
    STARTUP,
    /** StartupMessage received; password exchange under way. */
    AUTHENTICATING,
    /** Authenticated; waiting for a server connection. */
    WAITING_FOR_SERVER,
    /** Linked to a server connection; bytes flow both ways. */
    ACTIVE,
    /** Closing or closed. */
    CLOSED
}
