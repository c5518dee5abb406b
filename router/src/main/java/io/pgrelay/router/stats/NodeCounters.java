package io.pgrelay.router.stats;

import io.pgrelay.router.policy.RouteReason;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * What routing counts for one node, shared by all event loops without locks: the work in flight
 * there (server connections leased to clients), how often the policy chose it for a read, and the
 * statements and transactions run there, per {@link RouteReason}. All counters exist from the
 * start, so counting allocates nothing.
 */
public final class NodeCounters {
    private static final RouteReason[] REASONS = RouteReason.values();

    private final String node;
    private final AtomicInteger outstanding = new AtomicInteger();
    private final AtomicLong chosen = new AtomicLong();
    private final LongAdder[] queries = new LongAdder[REASONS.length];
    private final LongAdder transactions = new LongAdder();

    NodeCounters(String node) {
        this.node = node;
        for (int i = 0; i < queries.length; i++) {
            queries[i] = new LongAdder();
        }
    }

    public String node() {
        return node;
    }

    /** A server connection of this node was leased to a client. */
    public void leased() {
        outstanding.incrementAndGet();
    }

    /** That client gave it back (or lost it). */
    public void released() {
        outstanding.decrementAndGet();
    }

    /** Server connections of this node leased to clients now. */
    public int outstanding() {
        return outstanding.get();
    }

    /** A client's reads were sent to this node (a lease for them). */
    public void chosen() {
        chosen.incrementAndGet();
    }

    /** Makes {@link #timesChosen()} at least {@code atLeast}. */
    public void raiseChosen(long atLeast) {
        if (atLeast > chosen.get()) {
            chosen.accumulateAndGet(atLeast, Math::max);
        }
    }

    /** Times reads were sent to this node. */
    public long timesChosen() {
        return chosen.get();
    }

    /** A statement sent to this node, routed for {@code reason}. */
    public void query(RouteReason reason) {
        queries[reason.ordinal()].increment();
    }

    /** A transaction (explicit, or a statement's own) ended on this node. */
    public void transaction() {
        transactions.increment();
    }

    public long queries(RouteReason reason) {
        return queries[reason.ordinal()].sum();
    }

    public long transactions() {
        return transactions.sum();
    }
}
