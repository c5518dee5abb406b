package io.pgrelay.router.policy;

/** What routing needs to know of any node; the integrator adapts the failover topology to it. */
public interface NodeView {
    String name();

    /** Up and in service (not down, fenced or detached). */
    boolean healthy();
}
