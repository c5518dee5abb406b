package io.pgrelay.conf;

/**
 * One client authentication rule; the first rule that matches a connection decides its method,
 * like a line of pg_hba.conf.
 *
 * @param address  CIDR the client address must fall in ({@code 127.0.0.1/32}, {@code ::1/128}),
 *                 or {@code all}
 * @param database database name, or {@code all}
 * @param user     user name, or {@code all}
 * @param method   method to use when the rule matches
 */
public record AuthRule(String address, String database, String user, AuthMethod method) {
}
