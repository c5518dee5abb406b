package io.pgrelay.router.policy;

import io.pgrelay.router.RouteTarget;

/**
 * What routing remembers of one client: its consistency, its transaction and the WAL position its
 * reads must wait for. Confined to the client's event loop (no locks). The session feeds it: every
 * ReadyForQuery status, the BEGIN it holds back until the transaction's first statement, and
 * {@code default_transaction_read_only}.
 */
public final class ClientRoutingState {
    private Consistency consistency;
    private boolean defaultReadOnly;

    private boolean inTransaction;
    private boolean transactionReadOnly;
    private boolean wroteInTransaction;
    NodeView transactionNode;
    RouteTarget transactionTarget;

    private boolean wroteSinceIdle;
    private boolean lsnPending;
    private long writeCommittedAt;
    private long requiredLsn = -1;

    public ClientRoutingState(Consistency consistency) {
        this.consistency = consistency;
    }

    public Consistency consistency() {
        return consistency;
    }

    public void consistency(Consistency consistency) {
        this.consistency = consistency;
    }

    /** The session's {@code default_transaction_read_only}: its transactions are READ ONLY unless said otherwise. */
    public void defaultTransactionReadOnly(boolean on) {
        this.defaultReadOnly = on;
    }

    /** A BEGIN / START TRANSACTION; where the transaction runs is decided at its first statement. */
    public void beginTransaction(boolean readOnly) {
        inTransaction = true;
        transactionReadOnly = readOnly || defaultReadOnly;
        transactionNode = null;
        wroteInTransaction = false;
    }

    /** {@code SET TRANSACTION READ ONLY} before the transaction's first statement. */
    public void transactionReadOnly() {
        if (transactionNode == null) {
            transactionReadOnly = true;
        }
    }

    /**
     * ReadyForQuery's status byte: {@code 'I'} idle, {@code 'T'} in a transaction, {@code 'E'} in a
     * failed one. Idle after a write starts read-your-writes: reads wait for a primary WAL position
     * sampled after {@code nowNanos}.
     */
    public void readyForQuery(char status, long nowNanos) {
        if (status == 'I') {
            if (wroteSinceIdle) {
                lsnPending = true;
                writeCommittedAt = nowNanos;
                wroteSinceIdle = false;
            }
            inTransaction = false;
            transactionReadOnly = false;
            wroteInTransaction = false;
            transactionNode = null;
        } else {
            inTransaction = true;
        }
    }

    /**
     * The WAL position this client's reads must see ({@code SHOW pgrelay.last_write_lsn}): the
     * primary's position sampled after its last committed write, -1 if it has not written, or the
     * latest sample if none has been taken since the write yet.
     */
    public long lastWriteLsn(TopologyView topology) {
        resolve(topology);
        return lsnPending ? Math.max(requiredLsn, topology.primaryLsn()) : requiredLsn;
    }

    /** Turns a pending write into a WAL position once the monitor has sampled the primary after it. */
    boolean resolve(TopologyView topology) {
        if (lsnPending && topology.primaryLsn() >= 0 && topology.primaryLsnSampledAt() - writeCommittedAt >= 0) {
            requiredLsn = Math.max(requiredLsn, topology.primaryLsn());
            lsnPending = false;
        }
        return !lsnPending;
    }

    /** Keeps the rest of the transaction where its first statement runs. */
    StatementRoute pin(StatementRoute route) {
        transactionNode = route.node();
        transactionTarget = route.target();
        return route;
    }

    long requiredLsn() {
        return requiredLsn;
    }

    boolean inTransaction() {
        return inTransaction;
    }

    boolean readOnlyTransaction() {
        return transactionReadOnly;
    }

    boolean wroteInTransaction() {
        return wroteInTransaction;
    }

    void wrote() {
        wroteSinceIdle = true;
        if (inTransaction) {
            wroteInTransaction = true;
        }
    }
}
