package io.pgrelay.router.classify;

/**
 * A statement text's verdict: replica-safe or primary, the reason, and a detail such as the
 * offending function's name (may be empty).
 */
public record Classification(Reason reason, String detail) {
    public Classification {
        detail = detail == null ? "" : detail;
    }

    public Classification(Reason reason) {
        this(reason, "");
    }

    public boolean replicaSafe() {
        return reason.replicaSafe();
    }

    @Override
    public String toString() {
        return (replicaSafe() ? "REPLICA " : "PRIMARY ") + reason + (detail.isEmpty() ? "" : " (" + detail + ")");
    }
}
