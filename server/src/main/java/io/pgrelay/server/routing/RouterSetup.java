package io.pgrelay.server.routing;

import io.pgrelay.conf.RoutingConfig;
import io.pgrelay.failover.TopologyHolder;
import io.pgrelay.router.Router;
import io.pgrelay.router.classify.FunctionLists;
import io.pgrelay.router.policy.RoutingSettings;

/** Builds the {@link Router} from the {@code routing} section of the configuration. */
public final class RouterSetup {
    private RouterSetup() {
    }

    public static Router create(RoutingConfig config, TopologyHolder topology) {
        return new Router(topology, settings(config),
                new FunctionLists(config.readOnlyFunctions(), config.writeFunctions()));
    }

    static RoutingSettings settings(RoutingConfig config) {
        return new RoutingSettings(false, config.maxReplicaLag(),
                config.maxReplicaLagTime().isZero() ? null : config.maxReplicaLagTime(),
                config.onNoReplica() == RoutingConfig.OnNoReplica.ERROR);
    }
}
