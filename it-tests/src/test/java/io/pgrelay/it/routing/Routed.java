package io.pgrelay.it.routing;

import io.pgrelay.failover.Node;
import io.pgrelay.it.support.RelayHarness;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Predicate;

/** Where statements ran, and waits on what pgrelay's monitor knows of the replica. */
final class Routed {
    private Routed() {
    }

    /** Runs {@code sql}, whose first column is {@code inet_server_port()} of the node that ran it. */
    static int port(Statement st, String sql) throws SQLException {
        try (ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getInt(1);
        }
    }

    /**
     * Waits up to 15 s until pgrelay's topology has a usable replica that reported being one, has a
     * WAL sample and meets {@code condition}; fails naming {@code what} otherwise.
     */
    static Node awaitReplica(RelayHarness h, Predicate<Node> condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        Optional<Node> last = Optional.empty();
        do {
            last = h.relay().topology().current().usableReplicas().stream()
                    .filter(n -> n.discovered() && n.wal().sampledAt().toEpochMilli() > 0).findFirst();
            if (last.isPresent() && condition.test(last.get())) {
                return last.get();
            }
            Thread.sleep(10);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("the replica is not " + what + " within 15 s: " + last.map(Node::wal));
    }
}
