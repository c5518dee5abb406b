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
        return new Router(topology, settings(config), lists(config));
    }

    /** Applies a reloaded {@code routing} section: lag limits, on_no_replica and the function lists. */
    public static void apply(Router router, RoutingConfig config) {
        router.reconfigure(settings(config), lists(config));
    }

    private static FunctionLists lists(RoutingConfig config) {
        return new FunctionLists(config.readOnlyFunctions(), config.writeFunctions());
    }

    static RoutingSettings settings(RoutingConfig config) {
        return new RoutingSettings(false, config.maxReplicaLag(),
                config.maxReplicaLagTime().isZero() ? null : config.maxReplicaLagTime(),
                config.onNoReplica() == RoutingConfig.OnNoReplica.ERROR);
    }
}
