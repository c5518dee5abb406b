package io.pgrelay.router.policy;

import io.pgrelay.router.RouteTarget;
import io.pgrelay.router.sql.StatementInfo;

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
    private boolean transactionSerializable;
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
        beginTransaction(readOnly ? StatementInfo.READ_ONLY : 0);
    }

    /**
     * A BEGIN / START TRANSACTION with its {@link StatementInfo#transactionModes() modes}: READ ONLY
     * if it says so, or if it says nothing and {@code default_transaction_read_only} is on.
     */
    public void beginTransaction(int modes) {
        inTransaction = true;
        transactionReadOnly = defaultReadOnly;
        transactionSerializable = false;
        transactionNode = null;
        wroteInTransaction = false;
        transactionModes(modes);
    }

    /** {@code SET TRANSACTION READ ONLY} before the transaction's first statement. */
    public void transactionReadOnly() {
        transactionModes(StatementInfo.READ_ONLY);
    }

    /** The modes of a {@code SET TRANSACTION} (or BEGIN) before the transaction's first statement. */
    public void transactionModes(int modes) {
        if (transactionNode != null) {
            return;
        }
        if ((modes & StatementInfo.READ_ONLY) != 0) {
            transactionReadOnly = true;
        } else if ((modes & StatementInfo.READ_WRITE) != 0) {
            transactionReadOnly = false;
        }
        transactionSerializable |= (modes & StatementInfo.SERIALIZABLE) != 0;
    }

    /** True between a BEGIN and the end of its transaction (as ReadyForQuery tells). */
    public boolean inTransaction() {
        return inTransaction;
    }

    /** True once the current transaction's node is chosen. */
    public boolean transactionPlaced() {
        return transactionNode != null;
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
            transactionSerializable = false;
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

    /** True when {@link #lastWriteLsn} is a primary position sampled after the client's last write (or there is none). */
    public boolean lastWriteLsnKnown(TopologyView topology) {
        return resolve(topology);
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

    boolean readOnlyTransaction() {
        return transactionReadOnly;
    }

    boolean serializableTransaction() {
        return transactionSerializable;
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
