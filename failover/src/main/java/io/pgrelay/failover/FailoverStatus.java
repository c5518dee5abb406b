package io.pgrelay.failover;

import java.time.Duration;

/**
 * What the failover controller has done, for metrics and {@code pgrelay nodes}.
 *
 * @param failovers    promotions carried out, automatic and manual
 * @param refusals     automatic failovers that found no standby to promote
 * @param alarm        why the cluster has no primary and none was promoted; empty when all is well
 * @param lastFailover time from the primary going DOWN to the new primary being published, for
 *                     the last automatic failover; zero before the first
 */
public record FailoverStatus(long failovers, long refusals, String alarm, Duration lastFailover) {
}
