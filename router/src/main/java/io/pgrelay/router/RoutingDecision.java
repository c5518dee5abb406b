package io.pgrelay.router;

import io.pgrelay.failover.Node;

/**
 * The router's answer for one statement or session: the target, the node chosen for it, and a
 * reason a person can read (shown by {@code pgrelay classify} and counted in the stats).
 */
public record RoutingDecision(RouteTarget target, Node node, String reason) {
}
