package io.pgrelay.router;

/** Where a statement should run. */
public enum RouteTarget {
    PRIMARY,
    REPLICA
}
