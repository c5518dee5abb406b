package io.pgrelay.conf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.UnknownHostException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link HostPort} and {@link Cidr} parsing, which must never consult DNS. */
class AddressesTest {

    @ParameterizedTest
    @CsvSource({
            "127.0.0.1:6432, 127.0.0.1, 6432",
            "db1.internal, db1.internal, 5432",
            "db1.internal:6000, db1.internal, 6000",
            "[::1]:6432, ::1, 6432",
            "[fd00::1], fd00::1, 5432",
            "' 10.0.0.1:1 ', 10.0.0.1, 1",
            "name.that.does.not.resolve.invalid:5, name.that.does.not.resolve.invalid, 5",
    })
    void parsesHostPort(String text, String host, int port) {
        assertEquals(new HostPort(host, port), HostPort.parse(text, 5432));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", ":5432", "[::1", "[::1]x", "::1", "host:65536", "-bad-:1", "a..b:1",
            "[::g]:1", "1.2.3:5", "*"})
    void rejectsBadHostPort(String text) {
        assertThrows(IllegalArgumentException.class, () -> HostPort.parse(text, 5432));
    }

    @Test
    void toStringBracketsIpv6() {
        assertEquals("[::1]:6432", new HostPort("::1", 6432).toString());
        assertEquals("10.0.0.1:5432", new HostPort("10.0.0.1", 5432).toString());
    }

    @ParameterizedTest
    @CsvSource({"127.0.0.1, true", "127.255.0.9, true", "localhost, true", "::1, true", "0:0:0:0:0:0:0:1, true",
            "0.0.0.0, false", "::, false", "10.0.0.1, false", "localhost.example, false", "128.0.0.1, false"})
    void loopback(String host, boolean loopback) {
        assertEquals(loopback, new HostPort(host, 1).isLoopback());
    }

    @Test
    void cidrContains() throws UnknownHostException {
        Cidr net = Cidr.parse("10.1.16.0/20");
        assertTrue(net.contains(InetAddress.getByName("10.1.31.255")));
        assertFalse(net.contains(InetAddress.getByName("10.1.32.0")));
        assertFalse(net.contains(InetAddress.getByName("::1")));
        assertTrue(Cidr.parse("0.0.0.0/0").contains(InetAddress.getByName("192.0.2.1")));
        assertTrue(Cidr.parse("10.1.2.3/8").contains(InetAddress.getByName("10.200.0.1")));

        Cidr v6 = Cidr.parse("fd00:1::/33");
        assertTrue(v6.contains(InetAddress.getByName("fd00:1:7fff::1")));
        assertFalse(v6.contains(InetAddress.getByName("fd00:1:8000::1")));
        assertTrue(Cidr.parse("::1/128").contains(InetAddress.getByName("::1")));
        assertEquals("10.1.16.0/20", net.toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "10.0.0/8", "::/129", "::ffff:10.0.0.1/104",
            "host/8", "10.0.0.0/-1", "fe80::1%lo/64"})
    void rejectsBadCidr(String text) {
        assertThrows(IllegalArgumentException.class, () -> Cidr.parse(text));
    }
}
