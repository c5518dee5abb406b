package io.pgrelay.wire.auth;

import java.text.Normalizer;

/**
 * SASLprep (RFC 4013, a profile of stringprep, RFC 3454) as PostgreSQL applies it to SCRAM
 * passwords in {@code pg_saslprep} ({@code src/common/saslprep.c}), including where PostgreSQL
 * departs from the RFCs.
 *
 * <ul>
 *   <li>A pure ASCII password is used as it is, control characters included.
 *   <li>Otherwise: non-ASCII spaces (RFC 3454 table C.1.2) become U+0020, characters "commonly
 *       mapped to nothing" (B.1) are removed, and the result is normalized with NFKC.
 *   <li>If the mapped string is empty, contains a prohibited character (C.1.2, C.2.1, C.2.2, C.3
 *       to C.9) or an unassigned code point (A.1), or breaks the bidi rule (section 6), SASLprep
 *       fails. The RFC would reject the password; PostgreSQL (server and libpq alike) uses the
 *       original string instead, and so does {@link #prepare}. An unpaired surrogate (C.5), which has no
 *       UTF-8 form, fails as invalid UTF-8 does in PostgreSQL.
 *   <li>Like PostgreSQL, the prohibition and bidi checks look at the mapped string before NFKC,
 *       not at the normalized output as RFC 3454 section 2 has it.
 * </ul>
 *
 * <p>Approximations: PostgreSQL uses the Unicode 3.2 tables A.1 (unassigned), D.1 (RandALCat) and
 * D.2 (LCat); this uses the JDK's current Unicode data ({@link Character#getType} {@code ==
 * UNASSIGNED} and {@link Character#getDirectionality} R/AL and L). They differ for characters
 * assigned after Unicode 3.2, such as most emoji: PostgreSQL falls back to the original string for
 * a password containing one, where this prepares it. The result differs only if the same password
 * also contains something the mapping or NFKC changes.
 *
 * @see <a href="https://www.rfc-editor.org/rfc/rfc4013">RFC 4013: SASLprep</a>
 * @see <a href="https://www.rfc-editor.org/rfc/rfc3454">RFC 3454: stringprep</a>
 * @see <a href="https://www.postgresql.org/docs/current/sasl-authentication.html">PostgreSQL: SASL
 *     Authentication</a>
 */
final class SaslPrep {
    /** Inclusive code point ranges, as pairs. C.1.2: mapped to U+0020. */
    private static final int[] NON_ASCII_SPACE = {
        0x00A0, 0x00A0, 0x1680, 0x1680, 0x2000, 0x200B, 0x202F, 0x202F, 0x205F, 0x205F, 0x3000, 0x3000,
    };

    /** B.1: removed. U+200B is also in C.1.2, which is checked first, as PostgreSQL does. */
    private static final int[] MAPPED_TO_NOTHING = {
        0x00AD, 0x00AD, 0x034F, 0x034F, 0x1806, 0x1806, 0x180B, 0x180D,
        0x200B, 0x200D, 0x2060, 0x2060, 0xFE00, 0xFE0F, 0xFEFF, 0xFEFF,
    };

    /**
     * C.1.2, C.2.1, C.2.2, C.3, C.5, C.6, C.7, C.8 and C.9 merged, with C.4 except the last two
     * code points of each plane, which {@link #isProhibited} tests arithmetically.
     */
    private static final int[] PROHIBITED = {
        0x0000, 0x001F, 0x007F, 0x00A0, 0x0340, 0x0341, 0x06DD, 0x06DD,
        0x070F, 0x070F, 0x1680, 0x1680, 0x180E, 0x180E, 0x2000, 0x200F,
        0x2028, 0x202F, 0x205F, 0x2063, 0x206A, 0x206F, 0x2FF0, 0x2FFB,
        0x3000, 0x3000, 0xD800, 0xF8FF, 0xFDD0, 0xFDEF, 0xFEFF, 0xFEFF,
        0xFFF9, 0xFFFF, 0x1D173, 0x1D17A, 0xE0001, 0xE0001, 0xE0020, 0xE007F,
        0xF0000, 0x10FFFF,
    };

    private SaslPrep() {
    }

    /** The password to derive SaltedPassword from: prepared, or as given where PostgreSQL keeps it. */
    static String prepare(String password) {
        if (isAscii(password)) {
            return password;
        }
        int[] mapped = new int[password.length()];
        int count = 0;
        for (int i = 0; i < password.length(); ) {
            int cp = password.codePointAt(i);
            i += Character.charCount(cp);
            if (in(NON_ASCII_SPACE, cp)) {
                mapped[count++] = ' ';
            } else if (!in(MAPPED_TO_NOTHING, cp)) {
                mapped[count++] = cp;
            }
        }
        // PostgreSQL refuses an empty result ("don't allow empty password"), so the original stays.
        if (count == 0) {
            return password;
        }
        boolean hasRandAL = false;
        boolean hasL = false;
        for (int k = 0; k < count; k++) {
            int cp = mapped[k];
            if (isProhibited(cp) || Character.getType(cp) == Character.UNASSIGNED) {
                return password;
            }
            hasRandAL |= isRandAL(cp);
            hasL |= Character.getDirectionality(cp) == Character.DIRECTIONALITY_LEFT_TO_RIGHT;
        }
        if (hasRandAL && (hasL || !isRandAL(mapped[0]) || !isRandAL(mapped[count - 1]))) {
            return password;
        }
        return Normalizer.normalize(new String(mapped, 0, count), Normalizer.Form.NFKC);
    }

    private static boolean isAscii(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) >= 0x80) {
                return false;
            }
        }
        return true;
    }

    private static boolean isProhibited(int cp) {
        // C.4: U+xFFFE and U+xFFFF in every plane.
        return (cp & 0xFFFE) == 0xFFFE || in(PROHIBITED, cp);
    }

    private static boolean isRandAL(int cp) {
        byte d = Character.getDirectionality(cp);
        return d == Character.DIRECTIONALITY_RIGHT_TO_LEFT || d == Character.DIRECTIONALITY_RIGHT_TO_LEFT_ARABIC;
    }

    private static boolean in(int[] ranges, int cp) {
        for (int i = 0; i < ranges.length; i += 2) {
            if (cp < ranges[i]) {
                return false;
            }
            if (cp <= ranges[i + 1]) {
                return true;
            }
        }
        return false;
    }
}
