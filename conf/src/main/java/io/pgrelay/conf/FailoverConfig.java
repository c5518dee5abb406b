package io.pgrelay.conf;

import java.time.Duration;

/**
 * When and how pgrelay promotes a standby after the primary fails.
 *
 * @param enabled        whether a failed primary is replaced automatically
 * @param gracePeriod    how long the primary must stay DOWN before a standby is promoted
 * @param maxLag         most bytes of WAL a candidate may lack compared with the furthest position
 *                       known (the old primary's last sampled LSN or the best standby's); beyond it
 *                       no standby is promoted
 * @param followPrimary  whether the other standbys are re-pointed at the new primary
 * @param waitTimeout    how long write work may wait for a primary during a failover
 */
public record FailoverConfig(boolean enabled, Duration gracePeriod, long maxLag, boolean followPrimary,
                             Duration waitTimeout) {
}
