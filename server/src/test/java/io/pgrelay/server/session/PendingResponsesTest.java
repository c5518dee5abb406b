package io.pgrelay.server.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class PendingResponsesTest {
    @Test
    void keepsOrderAcrossGrowthAndWrapAround() {
        PendingResponses q = new PendingResponses();
        for (int round = 0; round < 3; round++) {
            for (int i = 0; i < 40; i++) {
                q.add(i % 2 == 0 ? PendingResponses.BIND : PendingResponses.EXECUTE | PendingResponses.OWN, i);
            }
            for (int i = 0; i < 40; i++) {
                assertEquals(i, q.headPayload());
                assertEquals(i % 2 == 0 ? PendingResponses.BIND : PendingResponses.EXECUTE | PendingResponses.OWN, q.headKind());
                q.removeHead();
            }
            assertTrue(q.isEmpty());
        }
    }

    @Test
    void classifiesKinds() {
        assertTrue(PendingResponses.synthetic(PendingResponses.SYNTHETIC_PARSE_COMPLETE));
        assertTrue(PendingResponses.synthetic(PendingResponses.SYNTHETIC_COMMAND));
        assertFalse(PendingResponses.synthetic(PendingResponses.PARSE | PendingResponses.OWN));
    }
}
