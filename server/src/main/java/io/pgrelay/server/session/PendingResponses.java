package io.pgrelay.server.session;

import java.util.Arrays;

/**
 * What a server owes, request by request, on a connection shared transaction by transaction:
 * one entry per client request that the server answers (or that pgrelay answers in the server's
 * place), in the order sent. It lets the session drop the answers to requests pgrelay itself
 * added and slot its own answers in at the right place. A ring of ints, so that steady traffic
 * allocates nothing.
 *
 * @see <a href="https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-EXT-QUERY">Extended Query</a>
 */
final class PendingResponses {
    /** Parse: answered by ParseComplete. */
    static final int PARSE = 1;
    /** Bind: BindComplete. */
    static final int BIND = 2;
    /** Describe of a statement: ParameterDescription, then RowDescription or NoData. */
    static final int DESCRIBE_STATEMENT = 3;
    /** Describe of a portal: RowDescription or NoData. */
    static final int DESCRIBE_PORTAL = 4;
    /** Execute: rows, then CommandComplete, EmptyQueryResponse or PortalSuspended. */
    static final int EXECUTE = 5;
    /** Close: CloseComplete. */
    static final int CLOSE = 6;
    /** Sync: ReadyForQuery. */
    static final int SYNC = 7;
    /** Query or FunctionCall: everything up to ReadyForQuery. */
    static final int QUERY = 8;
    /** No server answer: pgrelay sends ParseComplete when the entry comes up. */
    static final int SYNTHETIC_PARSE_COMPLETE = 9;
    /** No server answer: pgrelay sends CloseComplete when the entry comes up. */
    static final int SYNTHETIC_CLOSE_COMPLETE = 10;
    /** No server answer: pgrelay sends the payload (an ErrorResponse) when the entry comes up. */
    static final int SYNTHETIC_ERROR = 11;
    /** No server answer: pgrelay sends CommandComplete with the payload as tag, then ReadyForQuery. */
    static final int SYNTHETIC_COMMAND = 12;
    /** No server answer: pgrelay sends the payload (a list of messages), then ReadyForQuery. */
    static final int SYNTHETIC_ROWS = 13;
    /** Flag: a request pgrelay added; the client must not see its answers. */
    static final int OWN = 0x100;

    private int[] kinds = new int[16];
    private Object[] payloads = new Object[16];
    private int head;
    private int size;

    void add(int kind, Object payload) {
        if (size == kinds.length) {
            grow();
        }
        int i = (head + size) & (kinds.length - 1);
        kinds[i] = kind;
        payloads[i] = payload;
        size++;
    }

    boolean isEmpty() {
        return size == 0;
    }


    /** The kind of the oldest entry, flags included; only when not empty. */
    int headKind() {
        return kinds[head];
    }

    Object headPayload() {
        return payloads[head];
    }

    void removeHead() {
        payloads[head] = null;
        head = (head + 1) & (kinds.length - 1);
        size--;
    }

    void clear() {
        Arrays.fill(payloads, null);
        head = 0;
        size = 0;
    }

    static boolean synthetic(int kind) {
        int k = kind & ~OWN;
        return k >= SYNTHETIC_PARSE_COMPLETE;
    }

    private void grow() {
        int[] k = new int[kinds.length * 2];
        Object[] p = new Object[kinds.length * 2];
        for (int n = 0; n < size; n++) {
            int i = (head + n) & (kinds.length - 1);
            k[n] = kinds[i];
            p[n] = payloads[i];
        }
        kinds = k;
        payloads = p;
        head = 0;
    }
}
