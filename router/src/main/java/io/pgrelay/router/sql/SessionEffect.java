package io.pgrelay.router.sql;

import java.util.List;

/**
 * What a statement does to the state of the server session it runs on, as transaction pooling
 * needs to know it: parameters to replay on the next server connection, or state that cannot
 * travel and pins the client to its connection. See
 * <a href="https://www.postgresql.org/docs/current/sql-set.html">SET</a>,
 * <a href="https://www.postgresql.org/docs/current/sql-reset.html">RESET</a> and
 * <a href="https://www.postgresql.org/docs/current/sql-discard.html">DISCARD</a>.
 */
public sealed interface SessionEffect {
    /** The common case: a statement that leaves session state alone. Shared, allocates nothing. */
    List<SessionEffect> NONE = List.of();

    /**
     * {@code SET [SESSION] name TO value}. {@code name} is lower-case; {@code value} is the SQL text
     * as the client wrote it, ready to be re-sent as {@code SET name TO value}.
     */
    record SetParameter(String name, String value) implements SessionEffect {
    }

    /** {@code SET LOCAL name TO value}: ends with the transaction, so pooling may ignore it. */
    record SetLocal(String name, String value) implements SessionEffect {
    }

    /** {@code RESET name} or {@code SET name TO DEFAULT}. */
    record ResetParameter(String name) implements SessionEffect {
    }

    /** {@code RESET ALL}. */
    record ResetAll() implements SessionEffect {
        public static final ResetAll INSTANCE = new ResetAll();
    }

    /** {@code DISCARD ALL}. */
    record DiscardAll() implements SessionEffect {
        public static final DiscardAll INSTANCE = new DiscardAll();
    }

    /**
     * State that cannot be carried to another server connection (LISTEN, session advisory lock,
     * SQL-level PREPARE, temporary table, cursor WITH HOLD, SET ROLE ...); {@code reason} is a short
     * phrase for logs and NOTICEs.
     */
    record Pin(String reason) implements SessionEffect {
    }

    /** {@code DEALLOCATE [PREPARE] name}; the name is folded to lower case unless it was quoted. */
    record DeallocatePrepared(String name) implements SessionEffect {
    }

    /** {@code DEALLOCATE [PREPARE] ALL}. */
    record DeallocateAll() implements SessionEffect {
        public static final DeallocateAll INSTANCE = new DeallocateAll();
    }
}
