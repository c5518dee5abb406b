package io.pgrelay.wire.message.backend;

/** The status byte of ReadyForQuery. */
public enum TransactionStatus {
    /** Not in a transaction block. */
    IDLE('I'),
    /** In a transaction block. */
    IN_TRANSACTION('T'),
    /** In a failed transaction block. */
    FAILED('E'),
    /** A status byte this version does not know. */
    UNKNOWN('?');

    private final byte code;

    TransactionStatus(char code) {
        this.code = (byte) code;
    }

    public byte code() {
        return code;
    }

    public static TransactionStatus of(byte code) {
        return switch (code) {
            case 'I' -> IDLE;
            case 'T' -> IN_TRANSACTION;
            case 'E' -> FAILED;
            default -> UNKNOWN;
        };
    }
}
