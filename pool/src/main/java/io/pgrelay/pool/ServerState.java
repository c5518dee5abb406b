package io.pgrelay.pool;

/** Where a server connection is in its life; each state is one place in a pool's books. */
public enum ServerState {
    /** TCP connect, startup and authentication under way. */
    CONNECTING,
    /** In the pool, ready for a client. */
    IDLE,
    /** Leased to a client. */
    ACTIVE,
    /** Running the reset query before going back to the pool. */
    RESETTING,
    /** Closed or closing; never used again. */
    CLOSED
}
