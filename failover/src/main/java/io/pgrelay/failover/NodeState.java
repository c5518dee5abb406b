package io.pgrelay.failover;

/** Whether pgrelay may send work to a node. */
public enum NodeState {
    /** Reachable and in service. */
    UP,
    /** Failing health checks. */
    DOWN,
    /** A former primary that must not be used until an operator re-attaches it. */
    FENCED,
    /** Taken out of service by an operator. */
    DETACHED
}
