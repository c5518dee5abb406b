package io.pgrelay.conf;

/** The role a node is configured with; the failover monitor discovers the real one. */
public enum NodeRole {
    PRIMARY,
    REPLICA
}
