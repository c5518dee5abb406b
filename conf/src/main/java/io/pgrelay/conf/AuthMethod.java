package io.pgrelay.conf;

/** Client authentication methods, spelled in configuration as in pg_hba.conf. */
public enum AuthMethod {
    TRUST("trust"),
    MD5("md5"),
    SCRAM_SHA_256("scram-sha-256"),
    REJECT("reject");

    private final String configName;

    AuthMethod(String configName) {
        this.configName = configName;
    }

    /** The spelling used in the YAML file and in pg_hba.conf. */
    public String configName() {
        return configName;
    }
}
