package io.pgrelay.failover;

import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The split-brain rule: when more than one node in service reports being a primary, the one on
 * the newest timeline keeps the role and the others are FENCED. On equal timelines the node
 * that was already the primary wins, so a stray server cannot take over by merely appearing.
 */
final class Fencing {
    private static final Logger log = LoggerFactory.getLogger(Fencing.class);

    private Fencing() {
    }

    /** {@code topology} with all but one of its primaries in service fenced. */
    static Topology resolve(Topology topology, Instant now) {
        // A role taken from the config is only a guess until the node answers, so it cannot lose.
        List<Node> primaries = topology.nodes().stream()
                .filter(n -> n.isPrimary() && n.usable() && n.discovered()).toList();
        if (primaries.size() < 2) {
            return topology;
        }
        Node winner = primaries.stream()
                .max(Comparator.<Node>comparingLong(n -> n.wal().timeline())
                        .thenComparing(Node::since, Comparator.reverseOrder()))
                .orElseThrow();
        Topology result = topology;
        for (Node loser : primaries) {
            if (loser != winner) {
                String reason = "split brain: reports being a primary on timeline " + loser.wal().timeline()
                        + " while " + winner.name() + " is the primary on timeline " + winner.wal().timeline()
                        + "; fenced until an operator re-attaches it";
                log.error("node {}: {}", loser.name(), reason);
                result = result.with(loser.withState(NodeState.FENCED, reason, now));
            }
        }
        return result;
    }
}
