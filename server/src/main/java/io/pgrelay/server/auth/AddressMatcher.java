package io.pgrelay.server.auth;

import java.net.InetAddress;
import java.net.UnknownHostException;

/** Matches client addresses against a CIDR such as {@code 10.0.0.0/8} or {@code ::1/128}, or {@code all}. */
final class AddressMatcher {
    private final byte[] network;
    private final int prefixLength;

    private AddressMatcher(byte[] network, int prefixLength) {
        this.network = network;
        this.prefixLength = prefixLength;
    }

    /** Parses a CIDR that configuration validation has already accepted. */
    static AddressMatcher parse(String cidr) {
        if (cidr.equals("all")) {
            return new AddressMatcher(null, 0);
        }
        int slash = cidr.indexOf('/');
        String host = slash < 0 ? cidr : cidr.substring(0, slash);
        try {
            byte[] bytes = InetAddress.getByName(host).getAddress();
            int prefix = slash < 0 ? bytes.length * 8 : Integer.parseInt(cidr.substring(slash + 1));
            return new AddressMatcher(bytes, prefix);
        } catch (UnknownHostException | NumberFormatException e) {
            throw new IllegalArgumentException("not a CIDR address: " + cidr, e);
        }
    }

    boolean matches(InetAddress address) {
        if (network == null) {
            return true;
        }
        byte[] candidate = address.getAddress();
        if (candidate.length != network.length) {
            return false;
        }
        int fullBytes = prefixLength / 8;
        for (int i = 0; i < fullBytes; i++) {
            if (candidate[i] != network[i]) {
                return false;
            }
        }
        int rest = prefixLength % 8;
        if (rest == 0) {
            return true;
        }
        int mask = (0xFF << (8 - rest)) & 0xFF;
        return (candidate[fullBytes] & mask) == (network[fullBytes] & mask);
    }
}
