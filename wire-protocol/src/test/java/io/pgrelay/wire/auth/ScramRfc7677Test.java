package io.pgrelay.wire.auth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

/** Both SCRAM sessions and the verifier derivation against the example exchange in RFC 7677 section 3. */
class ScramRfc7677Test {
    private static final String PASSWORD = "pencil";
    private static final String CLIENT_NONCE = "rOprNGfwEbeRWgbNEkqO";
    private static final String SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    private static final String SALT = "W22ZaJ0SNY7soEsUEjb6gQ==";
    private static final int ITERATIONS = 4096;

    private static final String CLIENT_FIRST = "n,,n=user,r=" + CLIENT_NONCE;
    private static final String SERVER_FIRST = "r=" + CLIENT_NONCE + SERVER_NONCE + ",s=" + SALT + ",i=4096";
    private static final String CLIENT_FINAL =
            "c=biws,r=" + CLIENT_NONCE + SERVER_NONCE + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    private static final String SERVER_FINAL = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    /**
     * The verifier PostgreSQL would store for these inputs; computed with Python's hashlib and
     * accepted by PostgreSQL 15 as the password "pencil" when set with ALTER ROLE ... PASSWORD.
     */
    private static final String VERIFIER = "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"
            + "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=";

    private static final byte[] SALT_BYTES = Base64.getDecoder().decode(SALT);

    @Test
    void serverSessionAnswersTheRfcClient() {
        ScramSecret secret = ScramSecret.fromPassword(PASSWORD, SALT_BYTES, ITERATIONS);
        ScramServerSession server = new ScramServerSession(secret, SERVER_NONCE, false);

        assertEquals(SERVER_FIRST, text(server.handleClientFirst(ascii(CLIENT_FIRST))));
        assertEquals(SERVER_FINAL, text(server.handleClientFinal(ascii(CLIENT_FINAL))));
    }

    @Test
    void clientSessionWithPasswordSendsTheRfcProof() {
        ScramClientSession client = new ScramClientSession(PASSWORD, null, null, "user", CLIENT_NONCE);

        assertEquals(CLIENT_FIRST, text(client.clientFirstMessage()));
        assertEquals(CLIENT_FINAL, text(client.handleServerFirst(ascii(SERVER_FIRST))));
        client.handleServerFinal(ascii(SERVER_FINAL));
    }

    @Test
    void clientSessionWithKeysSendsTheRfcProof() {
        Keys keys = Keys.derive();
        ScramClientSession client = new ScramClientSession(null, keys.clientKey, keys.serverKey, "user", CLIENT_NONCE);

        assertEquals(CLIENT_FIRST, text(client.clientFirstMessage()));
        assertEquals(CLIENT_FINAL, text(client.handleServerFirst(ascii(SERVER_FIRST))));
        client.handleServerFinal(ascii(SERVER_FINAL));
    }

    @Test
    void serverSessionRecoversTheRfcClientKey() {
        ScramServerSession server =
                new ScramServerSession(ScramSecret.fromPassword(PASSWORD, SALT_BYTES, ITERATIONS), SERVER_NONCE, false);
        server.handleClientFirst(ascii(CLIENT_FIRST));
        server.handleClientFinal(ascii(CLIENT_FINAL));

        assertArrayEquals(Keys.derive().clientKey, server.clientKey());
    }

    @Test
    void verifierFromPasswordMatchesKeysDerivedIndependently() {
        Keys keys = Keys.derive();
        ScramSecret secret = ScramSecret.fromPassword(PASSWORD, SALT_BYTES, ITERATIONS);

        assertArrayEquals(keys.storedKey, secret.storedKey());
        assertArrayEquals(keys.serverKey, secret.serverKey());
        assertEquals(VERIFIER, secret.encode());
        assertEquals(secret, PasswordSecret.parse(VERIFIER));
    }

    /** The RFC's keys, derived without the code under test and checked against the RFC's proof and signature. */
    @Test
    void independentlyDerivedKeysReproduceTheRfcExchange() {
        Keys keys = Keys.derive();
        byte[] authMessage = ascii(CLIENT_FIRST.substring(3) + "," + SERVER_FIRST + ","
                + CLIENT_FINAL.substring(0, CLIENT_FINAL.indexOf(",p=")));

        byte[] signature = hmac(keys.storedKey, authMessage);
        byte[] proof = new byte[32];
        for (int i = 0; i < proof.length; i++) {
            proof[i] = (byte) (keys.clientKey[i] ^ signature[i]);
        }
        assertEquals(CLIENT_FINAL.substring(CLIENT_FINAL.indexOf(",p=") + 3), Base64.getEncoder().encodeToString(proof));
        assertEquals(SERVER_FINAL.substring(2), Base64.getEncoder().encodeToString(hmac(keys.serverKey, authMessage)));
    }

    /** ClientKey, StoredKey and ServerKey for "pencil", with PBKDF2 written out from RFC 5802's Hi(). */
    private record Keys(byte[] clientKey, byte[] storedKey, byte[] serverKey) {
        static Keys derive() {
            byte[] block = new byte[SALT_BYTES.length + 4];
            System.arraycopy(SALT_BYTES, 0, block, 0, SALT_BYTES.length);
            block[block.length - 1] = 1;
            byte[] password = ascii(PASSWORD);
            byte[] u = hmac(password, block);
            byte[] salted = u.clone();
            for (int i = 1; i < ITERATIONS; i++) {
                u = hmac(password, u);
                for (int j = 0; j < salted.length; j++) {
                    salted[j] ^= u[j];
                }
            }
            byte[] clientKey = hmac(salted, ascii("Client Key"));
            return new Keys(clientKey, sha256(clientKey), hmac(salted, ascii("Server Key")));
        }
    }

    private static byte[] hmac(byte[] key, byte[] data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    private static byte[] sha256(byte[] data) {
        try {
            return java.security.MessageDigest.getInstance("SHA-256").digest(data);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    static String text(byte[] b) {
        return new String(b, StandardCharsets.US_ASCII);
    }
}
