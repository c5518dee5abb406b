package io.pgrelay.conf;

import java.net.InetAddress;

/**
 * An address range in CIDR notation ({@code 10.0.0.0/8}, {@code fd00::/8}), as an
 * {@link AuthRule#address()} is written; see the address field of
 * <a href="https://www.postgresql.org/docs/current/auth-pg-hba-conf.html">pg_hba.conf</a>.
 *
 * @param network      the address before the slash
 * @param prefixLength how many leading bits an address must share with {@code network}
 */
public record Cidr(InetAddress network, int prefixLength) {

    /**
     * Parses {@code address/prefix}; host bits after the prefix are allowed and ignored, as in
     * pg_hba.conf.
     *
     * @throws IllegalArgumentException saying what is wrong with {@code text}
     */
    public static Cidr parse(String text) {
        int slash = text.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("it has no /prefix-length (a single address is e.g. 10.0.0.1/32 or ::1/128)");
        }
        String addressText = text.substring(0, slash);
        InetAddress address = Addresses.parseLiteral(addressText);
        if (address == null) {
            throw new IllegalArgumentException("'" + addressText + "' is not an IPv4 or IPv6 address");
        }
        int maxPrefix = address.getAddress().length * 8;
        String prefixText = text.substring(slash + 1);
        if (!prefixText.matches("\\d{1,3}") || Integer.parseInt(prefixText) > maxPrefix) {
            throw new IllegalArgumentException("prefix length '" + prefixText + "' is not a number from 0 to "
                    + maxPrefix + " for an IPv" + (maxPrefix == 32 ? 4 : 6) + " address");
        }
        return new Cidr(address, Integer.parseInt(prefixText));
    }

    /** Whether {@code address} falls in this range; an address of the other IP family never does. */
    public boolean contains(InetAddress address) {
        byte[] net = network.getAddress();
        byte[] candidate = address.getAddress();
        if (net.length != candidate.length) {
            return false;
        }
        int fullBytes = prefixLength / 8;
        for (int i = 0; i < fullBytes; i++) {
            if (net[i] != candidate[i]) {
                return false;
            }
        }
        int restBits = prefixLength % 8;
        if (restBits == 0) {
            return true;
        }
        int mask = (0xFF << (8 - restBits)) & 0xFF;
        return (net[fullBytes] & mask) == (candidate[fullBytes] & mask);
    }

    @Override
    public String toString() {
        return network.getHostAddress() + "/" + prefixLength;
    }
}
