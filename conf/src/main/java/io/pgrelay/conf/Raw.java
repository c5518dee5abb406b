package io.pgrelay.conf;

/**
 * One configuration value as written, before it is parsed, and where it came from.
 *
 * @param text   the value; {@code null} when the YAML gives the key no value
 * @param origin {@code from pgrelay.yaml:12}, {@code from environment PGRELAY_POOL_SIZE} or
 *               {@code from command line}
 */
record Raw(String text, String origin) {

    /** The key as an error message names it: {@code pool.size (from pgrelay.yaml:12)}. */
    String where(String key) {
        return key + " (" + origin + ")";
    }
}
