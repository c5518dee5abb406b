package io.pgrelay.failover;

/**
 * The answer to an operator's promote, detach or attach: done, or refused with the reason.
 *
 * @param done    whether the operation was carried out
 * @param message what was done, or why it was refused
 */
public record OperationResult(boolean done, String message) {
    static OperationResult done(String message) {
        return new OperationResult(true, message);
    }

    static OperationResult refused(String message) {
        return new OperationResult(false, message);
    }
}
