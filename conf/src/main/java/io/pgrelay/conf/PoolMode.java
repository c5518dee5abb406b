package io.pgrelay.conf;

/** When a server connection goes back to the pool. */
public enum PoolMode {
    /** When the client disconnects. */
    SESSION("session"),
    /** When the transaction ends. */
    TRANSACTION("transaction");

    private final String configName;

    PoolMode(String configName) {
        this.configName = configName;
    }

    public String configName() {
        return configName;
    }
}
