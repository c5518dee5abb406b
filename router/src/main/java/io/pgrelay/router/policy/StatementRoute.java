package io.pgrelay.router.policy;

import io.pgrelay.router.RouteTarget;
import io.pgrelay.router.classify.Classification;

/**
 * Where one statement runs: the node, the policy's reason and the statement's classification
 * (both counted in the stats and shown by {@code pgrelay classify}).
 */
public record StatementRoute(RouteTarget target, NodeView node, RouteReason reason, Classification classification) {
    @Override
    public String toString() {
        return target + " " + node.name() + " " + reason + " [" + classification + "]";
    }
}
