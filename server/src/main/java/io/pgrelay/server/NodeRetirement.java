package io.pgrelay.server;

import io.pgrelay.failover.Node;
import io.pgrelay.failover.NodeChange;
import io.pgrelay.failover.NodeState;
import io.pgrelay.pool.Pool;
import io.pgrelay.pool.Pools;
import io.pgrelay.pool.ServerConnection;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Empties the pools of a node that leaves service, as the monitor or the failover controller
 * publishes it. Routing already sends no new work there; this closes what the pools still hold.
 *
 * <ul>
 *   <li>{@code FENCED}: every connection, the leased ones too (their clients get 08006): a fenced
 *       former primary must not take one more write.
 *   <li>{@code DOWN} or {@code DETACHED}: only the idle ones. Work running on a node that died
 *       ends with its connection; a node only failing health checks (a slow or misconfigured
 *       monitor) keeps serving what it runs, and an operator's detach lets running work finish.
 * </ul>
 *
 * Listeners run on the thread that published the change, so the work is handed to each pool's
 * own event loop.
 */
final class NodeRetirement implements Consumer<NodeChange> {
    private static final Logger log = LoggerFactory.getLogger(NodeRetirement.class);

    private final Pools pools;

    NodeRetirement(Pools pools) {
        this.pools = pools;
    }

    @Override
    public void accept(NodeChange change) {
        Node node = change.after();
        if (node.usable() || change.before().state() == node.state()) {
            return;
        }
        boolean leasedToo = node.state() == NodeState.FENCED;
        for (Pool pool : pools.all()) {
            if (pool.key().node().nodeName().equals(node.name())) {
                pool.loop().execute(() -> retire(pool, node, leasedToo));
            }
        }
    }

    private static void retire(Pool pool, Node node, boolean leasedToo) {
        int idle = pool.idle();
        pool.closeIdle();
        int leased = 0;
        if (leasedToo) {
            for (ServerConnection server : pool.servers()) {
                // Closing the channel, not the connection: the client attached to it hears of it.
                server.channel().close();
                leased++;
            }
        }
        if (idle + leased > 0) {
            log.warn("pool {}: node {} is {}: closed {} idle and {} leased server connections", pool.key(),
                    node.name(), node.state(), idle, leased);
        }
    }
}
