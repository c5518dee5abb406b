package io.pgrelay.server.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.pgrelay.router.sql.SessionEffect;
import io.pgrelay.wire.SqlState;
import io.pgrelay.wire.WireException;
import io.pgrelay.wire.message.backend.TransactionStatus;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SessionSettingsTest {
    private static SessionSettings client(String... pairs) {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("user", "app");
        p.put("database", "app");
        for (int i = 0; i < pairs.length; i += 2) {
            p.put(pairs[i], pairs[i + 1]);
        }
        return SessionSettings.fromStartup(p);
    }

    @Test
    void startupValuesAreAppliedWithSetConfigAndNotUserOrDatabase() {
        SessionSettings s = client("application_name", "it's", "DateStyle", "ISO, MDY");
        assertEquals("SELECT pg_catalog.set_config(E'application_name', E'it''s', false), "
                + "pg_catalog.set_config(E'datestyle', E'ISO, MDY', false)", s.syncQuery(new HashMap<>()));
    }

    @Test
    void aServerWithTheSameSettingsNeedsNothingAndAnotherClientsAreReset() {
        SessionSettings a = client("application_name", "a", "search_path", "s1, public");
        Map<String, String> server = new HashMap<>();
        a.applyTo(server);
        assertNull(a.syncQuery(server));
        SessionSettings b = client("application_name", "b");
        assertEquals("SELECT pg_catalog.set_config(E'application_name', E'b', false); RESET search_path", b.syncQuery(server));
    }

    @Test
    void setValuesAreReplayedAsWrittenAndResetReturnsToTheStartupValue() {
        SessionSettings s = client("search_path", "s0");
        SessionEffects fx = new SessionEffects(s);
        fx.sent(List.of(new SessionEffect.SetParameter("search_path", "s1, \"Odd\"")), false);
        fx.readyForQuery(TransactionStatus.IDLE);
        assertEquals("SET search_path TO s1, \"Odd\"", s.syncQuery(new HashMap<>()));
        fx.sent(List.of(new SessionEffect.ResetParameter("search_path")), false);
        fx.readyForQuery(TransactionStatus.IDLE);
        assertEquals("SELECT pg_catalog.set_config(E'search_path', E's0', false)", s.syncQuery(new HashMap<>()));
    }

    @Test
    void effectsOfARolledBackOrFailedTransactionAreDropped() {
        SessionSettings s = client();
        SessionEffects fx = new SessionEffects(s);
        fx.sent(List.of(new SessionEffect.SetParameter("statement_timeout", "'5s'")), false);
        fx.readyForQuery(TransactionStatus.IN_TRANSACTION);
        fx.sent(SessionEffect.NONE, true);
        fx.readyForQuery(TransactionStatus.IDLE);
        assertNull(s.syncQuery(new HashMap<>()));
        fx.sent(List.of(new SessionEffect.SetParameter("statement_timeout", "'5s'")), false);
        fx.error();
        fx.readyForQuery(TransactionStatus.IDLE);
        assertNull(s.syncQuery(new HashMap<>()));
        assertNull(fx.pinReason());
    }

    @Test
    void aSavepointRollbackAfterASetPinsRatherThanGuess() {
        SessionEffects fx = new SessionEffects(client());
        fx.sent(List.of(new SessionEffect.SetParameter("work_mem", "'64MB'")), false);
        fx.sent(SessionEffect.NONE, true);
        fx.readyForQuery(TransactionStatus.IN_TRANSACTION);
        assertEquals("SET in a transaction that rolled back to a savepoint", fx.pinReason());
    }

    @Test
    void pinsApplyAtOnce() {
        SessionEffects fx = new SessionEffects(client());
        fx.sent(List.of(new SessionEffect.Pin("LISTEN")), false);
        assertEquals("LISTEN", fx.pinReason());
    }

    @Test
    void optionsCarrySettingsAndRefuseAnythingElse() {
        assertEquals(Map.of("search_path", "Ra b", "work_mem", "R4MB", "statement_timeout", "R5s"),
                SessionSettings.parseOptions("-c search_path=a\\ b --work-mem=4MB -cstatement_timeout=5s"));
        WireException e = assertThrows(WireException.class, () -> SessionSettings.parseOptions("-d 5"));
        assertEquals(SqlState.FEATURE_NOT_SUPPORTED, e.sqlState());
    }
}
