package io.pgrelay.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class LsnTest {
    @Test
    void formatsAndParsesAsPostgresqlDoes() {
        assertEquals("0/16B3748", Lsn.format(0x16B3748L));
        assertEquals("1A/0", Lsn.format(0x1AL << 32));
        assertEquals(0x3_0000_0060L, Lsn.parse("3/60"));
        assertEquals(0x16B3748L, Lsn.parse(Lsn.format(0x16B3748L)));
        assertThrows(IllegalArgumentException.class, () -> Lsn.parse("16B3748"));
    }
}
