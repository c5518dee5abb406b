package io.pgrelay.conf;

import java.util.Optional;
import java.util.OptionalInt;

/**
 * Pool settings for one database (an entry of {@code databases}) or one user (an entry of
 * {@code users}); what is not given falls back to the {@code pool} section. A user's pool mode
 * wins over its database's.
 *
 * @param name           the database or user name
 * @param mode           pool mode for its clients
 * @param size           server connections per pool (databases only)
 * @param maxConnections most server connections to this database, or as this user, over all pools
 */
public record PoolOverride(String name, Optional<PoolMode> mode, OptionalInt size, OptionalInt maxConnections) {
}
