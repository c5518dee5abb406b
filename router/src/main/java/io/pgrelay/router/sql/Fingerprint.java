package io.pgrelay.router.sql;

/**
 * A statement's shape: two independent 64-bit hashes over its normalized tokens (literals
 * replaced, keyword case and whitespace ignored, comments dropped, routing hints kept).
 *
 * <p>Why 128 bits and not the normalized text: the text would cost an allocation and a copy per
 * statement, and a cache keyed by it an equality check over it. With two 64-bit hashes, even ten
 * million distinct statement shapes collide with odds near 10^-24; a collision could only make one
 * statement borrow another's decision (the lexer's hard verdicts, such as a write, are never taken
 * from the cache; see {@code DecisionCache}).
 */
public record Fingerprint(long hi, long lo) {
    @Override
    public String toString() {
        return String.format("%016x%016x", hi, lo);
    }
}
