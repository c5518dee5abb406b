package io.pgrelay.server.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.DefaultEventLoop;
import io.netty.channel.EventLoop;
import io.pgrelay.conf.NodeRole;
import io.pgrelay.failover.Node;
import io.pgrelay.failover.NodeState;
import io.pgrelay.failover.Topology;
import io.pgrelay.failover.Wal;
import io.pgrelay.pool.PoolException;
import io.pgrelay.wire.SqlState;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class FailoverWaitTest {
    private final EventLoop loop = new DefaultEventLoop();
    private final AtomicReference<Topology> topology = new AtomicReference<>();

    @AfterEach
    void stop() throws InterruptedException {
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }

    private static Node node(String name, NodeRole role, NodeState state, Instant sampledAt) {
        Wal wal = new Wal(1, 100, 0, 0, 0, Duration.ZERO, List.of(), sampledAt);
        return new Node(name, "127.0.0.1", 5432, role, 1, 1, state, "test", Instant.EPOCH, true, wal);
    }

    private static Topology primaryDown() {
        return new Topology(2, List.of(node("pg1", NodeRole.PRIMARY, NodeState.DOWN, Instant.EPOCH),
                node("pg2", NodeRole.REPLICA, NodeState.UP, Instant.now())));
    }

    private static Topology promoted() {
        return new Topology(3, List.of(node("pg1", NodeRole.PRIMARY, NodeState.FENCED, Instant.EPOCH),
                node("pg2", NodeRole.PRIMARY, NodeState.UP, Instant.now())));
    }

    /** Starts a wait on the loop; the future completes with "primary NAME" or "timeout MESSAGE". */
    private CompletableFuture<String> await(FailoverWait wait, String failedNode) {
        CompletableFuture<String> outcome = new CompletableFuture<>();
        loop.execute(() -> wait.await(failedNode, () -> true, p -> outcome.complete("primary " + p.name()),
                m -> outcome.complete("timeout " + m)));
        return outcome;
    }

    @Test
    void proceedsOnceAPrimaryIsPromoted() throws Exception {
        topology.set(primaryDown());
        FailoverWait wait = new FailoverWait(loop, topology::get, Duration.ofSeconds(5));
        CompletableFuture<String> outcome = await(wait, null);
        Thread.sleep(100);
        assertFalse(outcome.isDone(), "no primary yet");
        assertTrue(loop.submit(wait::waiting).get());
        topology.set(promoted());
        assertEquals("primary pg2", outcome.get(2, TimeUnit.SECONDS));
        assertFalse(loop.submit(wait::waiting).get());
    }

    @Test
    void failsAtTheTimeoutNamingTheSetting() throws Exception {
        topology.set(primaryDown());
        FailoverWait wait = new FailoverWait(loop, topology::get, Duration.ofMillis(150));
        long start = System.nanoTime();
        String outcome = await(wait, null).get(2, TimeUnit.SECONDS);
        assertTrue(System.nanoTime() - start >= Duration.ofMillis(150).toNanos());
        assertTrue(outcome.startsWith("timeout no primary node came into service within failover.wait_timeout 150ms"),
                outcome);
        // The deadline holds for the next wait of the same work: it fails at once.
        assertTrue(await(wait, null).get(1, TimeUnit.SECONDS).startsWith("timeout"));
        loop.submit(wait::succeeded).get();
        long again = System.nanoTime();
        assertTrue(await(wait, null).get(2, TimeUnit.SECONDS).startsWith("timeout"));
        assertTrue(System.nanoTime() - again >= Duration.ofMillis(150).toNanos(), "a fresh deadline after success");
    }

    @Test
    void aPrimaryThatRefusedAConnectionMustBeSeenAliveAgainOrReplaced() throws Exception {
        Node stale = node("pg1", NodeRole.PRIMARY, NodeState.UP, Instant.now().minusSeconds(1));
        topology.set(new Topology(2, List.of(stale, node("pg2", NodeRole.REPLICA, NodeState.UP, Instant.now()))));
        FailoverWait wait = new FailoverWait(loop, topology::get, Duration.ofSeconds(5));
        CompletableFuture<String> outcome = await(wait, "pg1");
        Thread.sleep(100);
        assertFalse(outcome.isDone(), "pg1 not sampled since the failure");
        topology.set(new Topology(3, List.of(node("pg1", NodeRole.PRIMARY, NodeState.UP, Instant.now()),
                node("pg2", NodeRole.REPLICA, NodeState.UP, Instant.now()))));
        assertEquals("primary pg1", outcome.get(2, TimeUnit.SECONDS));
    }

    @Test
    void aClientThatLeftEndsTheWaitSilently() throws Exception {
        topology.set(primaryDown());
        FailoverWait wait = new FailoverWait(loop, topology::get, Duration.ofMillis(100));
        CompletableFuture<String> outcome = new CompletableFuture<>();
        loop.execute(() -> wait.await(null, () -> false, p -> outcome.complete("primary"), outcome::complete));
        Thread.sleep(300);
        assertFalse(outcome.isDone());
        assertFalse(loop.submit(wait::waiting).get());
    }

    @Test
    void onlyAnUnreachableServerIsWorthWaitingFor() {
        assertTrue(FailoverWait.unreachable(new PoolException(SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
                "could not connect")));
        assertTrue(FailoverWait.unreachable(new PoolException(SqlState.CONNECTION_FAILURE, "closed during startup")));
        assertFalse(FailoverWait.unreachable(new PoolException(SqlState.TOO_MANY_CONNECTIONS, "pool full")));
        assertFalse(FailoverWait.unreachable(new IllegalStateException("other")));
    }
}
