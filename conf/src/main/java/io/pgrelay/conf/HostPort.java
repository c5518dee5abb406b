package io.pgrelay.conf;

/** A TCP endpoint, written {@code host:port} (IPv6 as {@code [::1]:6432}). */
public record HostPort(String host, int port) {

    /**
     * Parses {@code host:port}, {@code [ipv6]:port}, or a host alone, which gets {@code defaultPort}.
     * Host names are checked for syntax only, never resolved.
     *
     * @throws IllegalArgumentException saying what is wrong with {@code text}
     */
    public static HostPort parse(String text, int defaultPort) {
        String s = text.strip();
        if (s.isEmpty()) {
            throw new IllegalArgumentException("the address is empty");
        }
        String host;
        String port = null;
        if (s.startsWith("[")) {
            int close = s.indexOf(']');
            if (close < 0) {
                throw new IllegalArgumentException("'[' has no matching ']'");
            }
            host = s.substring(1, close);
            String rest = s.substring(close + 1);
            if (!rest.isEmpty()) {
                if (!rest.startsWith(":")) {
                    throw new IllegalArgumentException("expected ':' and a port after ']'");
                }
                port = rest.substring(1);
            }
            if (host.indexOf(':') < 0) {
                throw new IllegalArgumentException("brackets are only for IPv6 addresses");
            }
        } else {
            int colon = s.indexOf(':');
            if (colon >= 0 && s.indexOf(':', colon + 1) >= 0) {
                throw new IllegalArgumentException("an IPv6 address needs brackets, e.g. [::1]:" + defaultPort);
            }
            host = colon < 0 ? s : s.substring(0, colon);
            port = colon < 0 ? null : s.substring(colon + 1);
        }
        if ("*".equals(host)) {
            throw new IllegalArgumentException("'*' is not an address; use 0.0.0.0 or [::] for all addresses");
        }
        String hostProblem = Addresses.hostProblem(host);
        if (hostProblem != null) {
            throw new IllegalArgumentException(hostProblem);
        }
        return new HostPort(host, port == null ? defaultPort : parsePort(port));
    }

    private static int parsePort(String port) {
        if (!port.matches("\\d{1,9}")) {
            throw new IllegalArgumentException("port '" + port + "' is not a number");
        }
        int value = Integer.parseInt(port);
        if (value > 65535) {
            throw new IllegalArgumentException("port " + value + " is out of range (0 to 65535)");
        }
        return value;
    }

    /** Whether the host is {@code localhost} or a loopback literal (127.0.0.0/8, ::1); never resolves. */
    public boolean isLoopback() {
        return Addresses.isLoopback(host);
    }

    @Override
    public String toString() {
        return host.indexOf(':') >= 0 ? "[" + host + "]:" + port : host + ":" + port;
    }
}
