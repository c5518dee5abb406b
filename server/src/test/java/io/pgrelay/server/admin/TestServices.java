package io.pgrelay.server.admin;

import io.netty.bootstrap.Bootstrap;
import io.pgrelay.conf.PgRelayConfig;
import io.pgrelay.failover.Topology;
import io.pgrelay.failover.TopologyHolder;
import io.pgrelay.pool.PoolSettings;
import io.pgrelay.pool.Pools;
import io.pgrelay.pool.ServerConnector;
import io.pgrelay.router.Router;
import io.pgrelay.server.auth.ClientAuth;
import io.pgrelay.server.cancel.CancelRegistry;
import io.pgrelay.server.session.SessionServices;
import java.time.Duration;
import java.time.Instant;

/** Session services for tests of the admin views: no server is ever connected. */
public final class TestServices {
    private TestServices() {
    }

    public static SessionServices of(PgRelayConfig config) {
        PoolSettings settings = PoolSettings.of(2, "", Duration.ofSeconds(1), Duration.ofSeconds(1), 1 << 20, true, 10);
        SessionServices s = new SessionServices(new ClientAuth(config.auth()),
                new Pools(settings, new ServerConnector(new Bootstrap(), settings)),
                new Router(new TopologyHolder(Topology.fromConfig(config.nodes(), Instant.now()))),
                new CancelRegistry(new Bootstrap()), 1 << 20, Duration.ofSeconds(5), 100);
        s.config(config);
        return s;
    }
}
