package io.pgrelay.server.admin;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.pgrelay.failover.FailoverController;
import io.pgrelay.failover.Node;
import io.pgrelay.failover.OperationResult;
import io.pgrelay.failover.Topology;
import java.util.Locale;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operator's PROMOTE, ATTACH and DETACH of a node, for the admin console and the HTTP API:
 * the {@link FailoverController}'s manual operations, run on a virtual thread because they block
 * (promotion up to about 90 s) and their callers are event loops.
 */
public final class NodeControl {
    private static final Logger log = LoggerFactory.getLogger(NodeControl.class);

    /** What the operator asks for. */
    public enum Operation {
        PROMOTE, ATTACH, DETACH;

        /** The lower-case name the CLI and the API use. */
        public String word() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** How an operation ended: done, refused by the controller, no such node, or no controller yet. */
    public enum Status { DONE, REFUSED, UNKNOWN_NODE, UNAVAILABLE }

    /** @param message what was done, or why not */
    public record Outcome(Operation operation, String node, Status status, String message) {
    }

    private final Supplier<Topology> topology;
    private volatile FailoverController controller;

    /** @param topology the topology pgrelay routes by, read to tell an unknown node from a refusal */
    public NodeControl(Supplier<Topology> topology) {
        this.topology = topology;
    }

    /** Set once the failover service has started; until then every operation is {@link Status#UNAVAILABLE}. */
    public void controller(FailoverController controller) {
        this.controller = controller;
    }

    /** Runs {@code operation} on {@code node}; the future completes on {@code home} and never fails. */
    public Future<Outcome> run(EventExecutor home, Operation operation, String node) {
        Topology t = topology.get();
        if (t.node(node).isEmpty()) {
            return home.newSucceededFuture(new Outcome(operation, node, Status.UNKNOWN_NODE, "no node is named "
                    + node + "; nodes: " + String.join(", ", t.nodes().stream().map(Node::name).toList())));
        }
        FailoverController c = controller;
        if (c == null) {
            return home.newSucceededFuture(new Outcome(operation, node, Status.UNAVAILABLE,
                    "the failover controller is not running yet"));
        }
        Promise<Outcome> outcome = home.newPromise();
        Thread.ofVirtual().name("pgrelay-" + operation.word() + "-" + node).start(() -> {
            Outcome o;
            try {
                OperationResult r = switch (operation) {
                    case PROMOTE -> c.promote(node);
                    case ATTACH -> c.attach(node);
                    case DETACH -> c.detach(node);
                };
                o = new Outcome(operation, node, r.done() ? Status.DONE : Status.REFUSED, r.message());
            } catch (RuntimeException e) {
                log.error("{} {} failed", operation, node, e);
                o = new Outcome(operation, node, Status.UNAVAILABLE, operation.word() + " " + node + " failed: " + e);
            }
            log.info("{} {} by operator: {} ({})", operation, node, o.status(), o.message());
            outcome.trySuccess(o);
        });
        return outcome;
    }
}
