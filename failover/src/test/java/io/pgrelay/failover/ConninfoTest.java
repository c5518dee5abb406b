package io.pgrelay.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ConninfoTest {
    @Test
    void repointingReplacesHostAndPortAndKeepsTheRest() {
        Conninfo c = Conninfo.parse("user=replicator password=s3cr3t host=127.0.0.1 port=5433 "
                + "application_name=replica2 sslmode=prefer");
        assertEquals("user='replicator' password='s3cr3t' host='10.0.0.9' port='6000' application_name='replica2'"
                + " sslmode='prefer'", c.pointedAt("10.0.0.9", 6000).format());
    }

    @Test
    void quotedValuesAndEscapesSurviveARoundTrip() {
        Conninfo c = Conninfo.parse("host = 'a b'  password='it\\'s \\\\ x' hostaddr=1.2.3.4 dbname=''");
        assertEquals("a b", c.get("host"));
        assertEquals("it's \\ x", c.get("password"));
        assertEquals("", c.get("dbname"));
        String formatted = c.pointedAt("h", 1).format();
        assertEquals("host='h' password='it\\'s \\\\ x' dbname='' port='1'", formatted);
        assertEquals("it's \\ x", Conninfo.parse(formatted).get("password"));
    }

    @Test
    void malformedStringsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Conninfo.parse("host"));
        assertThrows(IllegalArgumentException.class, () -> Conninfo.parse("host='open"));
        assertThrows(IllegalArgumentException.class, () -> Conninfo.parse("postgresql://h:5432/db"));
    }
}
