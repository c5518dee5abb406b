package io.pgrelay.server.session;

import io.netty.buffer.ByteBuf;
import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * The bytes of one read sent to a replica, kept until the replica answers, so that a read the
 * replica dropped unanswered (its postmaster died: the backend's FATAL 57P01 "unexpected
 * postmaster exit", or the connection closed) can run on another node instead of failing the
 * client. A read sent to a replica is replica-safe, and the client has seen nothing of its
 * answer, so running it again elsewhere is invisible to the client.
 *
 * <p>Only what is whole and self-contained is replayed: the first answer from the server, or a
 * named Parse (which the session records as the client's statement), settles the read. The kept
 * buffers are retained duplicates of what was forwarded: no copy, one small object per buffer.
 * Runs on the session's event loop.
 */
final class ReplicaReadReplay {
    private final ArrayDeque<ByteBuf> sent = new ArrayDeque<>();
    private boolean armed;

    /** A read is about to be sent to a replica: keep what goes out from now on. */
    void begin() {
        settle();
        armed = true;
    }

    /** Keeps {@code bytes}, about to be fed to the replica, if a read is being kept. */
    void keep(ByteBuf bytes) {
        if (armed) {
            sent.add(bytes.retainedDuplicate());
        }
    }

    /** The read can no longer be replayed (answered, or not self-contained): drops what was kept. */
    void settle() {
        armed = false;
        while (!sent.isEmpty()) {
            sent.poll().release();
        }
    }

    /** True while the read was sent and nothing of its answer reached the client. */
    boolean replayable() {
        return armed && !sent.isEmpty();
    }

    /** Puts the kept bytes back at the head of {@code held}, in order, handing them over. */
    void restoreInto(ArrayDeque<ByteBuf> held) {
        for (Iterator<ByteBuf> it = sent.descendingIterator(); it.hasNext(); ) {
            held.addFirst(it.next());
        }
        sent.clear();
        armed = false;
    }
}
