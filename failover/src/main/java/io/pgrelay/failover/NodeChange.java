package io.pgrelay.failover;

/**
 * A node whose state or role changed in a newly published {@link Topology}.
 *
 * @param before   the node in the previous snapshot
 * @param after    the node in {@code topology}
 * @param topology the snapshot that was published
 */
public record NodeChange(Node before, Node after, Topology topology) {
    @Override
    public String toString() {
        String role = before.role() == after.role() ? "" : ", role " + before.role() + " -> " + after.role();
        return "node " + after.name() + ": " + before.state() + " -> " + after.state() + role + " (" + after.reason()
                + ", topology version " + topology.version() + ")";
    }
}
