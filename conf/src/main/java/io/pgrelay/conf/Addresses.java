package io.pgrelay.conf;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.regex.Pattern;

/** Parsing of IP literals and host names without ever asking DNS. */
final class Addresses {
    private static final Pattern HOST_NAME =
            Pattern.compile("[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\\.?");
    private static final Pattern IPV6_CHARS = Pattern.compile("[0-9A-Fa-f:.]+");

    private Addresses() {
    }

    /** An IPv4 ({@code 10.0.0.1}) or IPv6 ({@code fd00::1}) literal; {@code null} if it is neither. */
    static InetAddress parseLiteral(String text) {
        return text.indexOf(':') >= 0 ? parseIpv6(text) : parseIpv4(text);
    }

    private static InetAddress parseIpv4(String text) {
        String[] parts = text.split("\\.", -1);
        if (parts.length != 4) {
            return null;
        }
        byte[] bytes = new byte[4];
        for (int i = 0; i < 4; i++) {
            if (!parts[i].matches("\\d{1,3}") || Integer.parseInt(parts[i]) > 255) {
                return null;
            }
            bytes[i] = (byte) Integer.parseInt(parts[i]);
        }
        try {
            return InetAddress.getByAddress(bytes);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("four bytes are always a valid IPv4 address", e);
        }
    }

    private static InetAddress parseIpv6(String text) {
        // Brackets make InetAddress treat the text as an IPv6 literal and never fall back to DNS;
        // the character check keeps out zone ids, which mean nothing outside this host's config.
        if (!IPV6_CHARS.matcher(text).matches()) {
            return null;
        }
        try {
            InetAddress address = InetAddress.getByName("[" + text + "]");
            return address instanceof Inet6Address ? address : null;
        } catch (UnknownHostException e) {
            return null;
        }
    }

    /**
     * Why {@code host} is not a usable host name or IP literal, or {@code null} when it is.
     * IPv6 literals come without brackets.
     */
    static String hostProblem(String host) {
        if (host.isEmpty()) {
            return "the host is empty";
        }
        if (host.indexOf(':') >= 0 || host.matches("[0-9.]+")) {
            return parseLiteral(host) == null ? "'" + host + "' is not a valid IP address" : null;
        }
        if (host.length() > 253 || !HOST_NAME.matcher(host).matches()) {
            return "'" + host + "' is not a valid host name or IP address";
        }
        return null;
    }

    /** Whether {@code host} is {@code localhost} or a literal in 127.0.0.0/8 or ::1. */
    static boolean isLoopback(String host) {
        if (host.toLowerCase(Locale.ROOT).equals("localhost")) {
            return true;
        }
        InetAddress literal = parseLiteral(host);
        return literal != null && literal.isLoopbackAddress();
    }
}
