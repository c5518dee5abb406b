package io.pgrelay.pool;

import java.util.Arrays;

/** What pgrelay presents when PostgreSQL asks a server connection for a password. */
public sealed interface BackendCredentials {
    /** No password known: only a server that trusts the connection will accept it. */
    enum None implements BackendCredentials {
        INSTANCE
    }

    /** A plaintext password: answers cleartext, md5 and SCRAM requests. */
    record Password(String password) implements BackendCredentials {
        @Override
        public String toString() {
            return "Password[***]";
        }
    }

    /** An md5 hash ({@code md5...}): answers md5 requests only. */
    record Md5Hash(String hash) implements BackendCredentials {
        @Override
        public String toString() {
            return "Md5Hash[***]";
        }
    }

    /**
     * The ClientKey recovered from a client's SCRAM exchange plus the ServerKey of the secret:
     * answers SCRAM requests of a server holding the same verifier, without any plaintext.
     */
    record ScramKeys(byte[] clientKey, byte[] serverKey) implements BackendCredentials {
        @Override
        public boolean equals(Object o) {
            return o instanceof ScramKeys k && Arrays.equals(clientKey, k.clientKey) && Arrays.equals(serverKey, k.serverKey);
        }

        @Override
        public int hashCode() {
            return 31 * Arrays.hashCode(clientKey) + Arrays.hashCode(serverKey);
        }

        @Override
        public String toString() {
            return "ScramKeys[***]";
        }
    }
}
