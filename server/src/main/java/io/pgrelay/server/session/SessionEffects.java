package io.pgrelay.server.session;

import io.pgrelay.router.sql.SessionEffect;
import io.pgrelay.wire.message.backend.TransactionStatus;
import java.util.ArrayList;
import java.util.List;

/**
 * Keeps a client's {@link SessionSettings} in step with what its statements do in transaction
 * pooling. SET and RESET are transactional in PostgreSQL, so their effects wait until the
 * transaction (explicit, or the implicit one of a Query) ends: kept when it ends without an
 * error, dropped when it rolled back.
 */
final class SessionEffects {
    private final SessionSettings settings;
    private final List<SessionEffect> pending = new ArrayList<>();
    private boolean errorSeen;
    private boolean rolledBack;
    private String pinReason;

    SessionEffects(SessionSettings settings) {
        this.settings = settings;
    }

    /** Why the client must keep its server until it leaves, or null. */
    String pinReason() {
        return pinReason;
    }

    void pin(String reason) {
        if (pinReason == null) {
            pinReason = reason;
        }
    }

    /**
     * Effects of a statement sent to the server; a pin applies at once, whatever happens to the
     * statement. {@code rollsBack}: the statement is a ROLLBACK (or ROLLBACK TO SAVEPOINT).
     */
    void sent(List<SessionEffect> effects, boolean rollsBack) {
        if (rollsBack && !pending.isEmpty()) {
            rolledBack = true;
        }
        for (SessionEffect e : effects) {
            switch (e) {
                case SessionEffect.Pin p -> pin(p.reason());
                case SessionEffect.SetParameter s -> pending.add(e);
                case SessionEffect.ResetParameter r -> pending.add(e);
                case SessionEffect.ResetAll r -> pending.add(e);
                case SessionEffect.DiscardAll d -> pending.add(e);
                default -> {
                    // SET LOCAL ends with its transaction; DEALLOCATE is the session's own business.
                }
            }
        }
    }

    /** The server reported an error for one of the client's requests. */
    void error() {
        errorSeen = true;
    }

    /**
     * A ReadyForQuery of the client's: at the end of a transaction, applies or drops what it set.
     *
     * @return true when the settings changed
     */
    boolean readyForQuery(TransactionStatus status) {
        if (status == TransactionStatus.IN_TRANSACTION && (errorSeen || rolledBack) && !pending.isEmpty()) {
            // Back from an error through ROLLBACK TO SAVEPOINT: which SETs survived is unknown here.
            pin("SET in a transaction that rolled back to a savepoint");
        }
        if (status != TransactionStatus.IDLE) {
            return false;
        }
        boolean changed = !errorSeen && !rolledBack && !pending.isEmpty();
        if (changed) {
            for (SessionEffect e : pending) {
                switch (e) {
                    case SessionEffect.SetParameter s -> settings.set(s.name(), s.value());
                    case SessionEffect.ResetParameter r -> settings.reset(r.name());
                    default -> settings.resetAll();
                }
            }
        }
        pending.clear();
        errorSeen = false;
        rolledBack = false;
        return changed;
    }
}
