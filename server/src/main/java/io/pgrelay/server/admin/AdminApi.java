package io.pgrelay.server.admin;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.pgrelay.failover.Topology;
import io.pgrelay.server.reload.ReloadResult;
import io.pgrelay.server.reload.Reloader;
import io.pgrelay.server.session.SessionServices;
import java.util.List;
import java.util.function.Supplier;

/**
 * The admin views and actions for callers outside the console (the HTTP API): the same tables the
 * console's SHOW commands show, and PAUSE/RESUME with the console's semantics. Futures complete
 * on the {@code home} executor the caller passes.
 */
public final class AdminApi {
    private final SessionServices services;
    private final Supplier<Topology> topology;

    /** @param topology the topology snapshot pgrelay routes by, read at each call */
    public AdminApi(SessionServices services, Supplier<Topology> topology) {
        this.services = services;
        this.topology = topology;
    }

    /** Re-reads the configuration off the event loop; completes on {@code home}. */
    public Future<ReloadResult> reload(EventExecutor home) {
        Reloader reloader = services.reloader();
        if (reloader == null) {
            return home.newSucceededFuture(new ReloadResult(List.of(), List.of("this pgrelay has no configuration to reload")));
        }
        Promise<ReloadResult> done = home.newPromise();
        reloader.reloadAsync().whenComplete((r, e) -> {
            if (e != null) {
                done.setFailure(e);
            } else {
                done.setSuccess(r);
            }
        });
        return done;
    }

    public Future<View> pools(EventExecutor home) {
        return AdminCommands.fromSnapshot(services, home, s -> AdminViews.pools(s, services.config()));
    }

    public Future<View> clients(EventExecutor home) {
        return AdminCommands.fromSnapshot(services, home, AdminViews::clients);
    }

    public Future<View> servers(EventExecutor home) {
        return AdminCommands.fromSnapshot(services, home, AdminViews::servers);
    }

    public Future<View> stats(EventExecutor home) {
        return AdminCommands.fromSnapshot(services, home, s -> AdminViews.stats(s, services.stats().logins()));
    }

    public Future<View> databases(EventExecutor home) {
        return AdminCommands.fromSnapshot(services, home,
                s -> AdminViews.databases(s, services.config(), services.pools()::paused));
    }

    /** The configuration in effect, without secrets. */
    public View config() {
        return AdminViews.config(services.config());
    }

    public View nodes() {
        return AdminViews.nodes(topology.get());
    }

    /** The rows of SHOW ROUTING. */
    public View routing() {
        return AdminViews.routing(services.router().counters().all());
    }

    /**
     * Pauses {@code database} (every database when null) as PAUSE on the console does; completes
     * with the number of server connections still leased after the wait.
     *
     * @throws IllegalArgumentException for the console's own database, which cannot be paused
     */
    public Future<Integer> pause(EventExecutor home, String database) {
        if (AdminConsole.DATABASE.equals(database)) {
            throw new IllegalArgumentException(AdminCommands.CANNOT_PAUSE_CONSOLE);
        }
        return AdminCommands.pauseAndWait(services, home, database);
    }

    /** PROMOTE, ATTACH or DETACH of {@code node}, as on the console; completes on {@code home}. */
    public Future<NodeControl.Outcome> node(EventExecutor home, NodeControl.Operation operation, String node) {
        NodeControl control = services.nodeControl();
        if (control == null) {
            return home.newSucceededFuture(new NodeControl.Outcome(operation, node, NodeControl.Status.UNAVAILABLE,
                    "node control is not set up in this process"));
        }
        return control.run(home, operation, node);
    }

    /** Ends a pause of {@code database} (of everything when null), as RESUME on the console does. */
    public void resume(String database) {
        AdminCommands.resume(services, database);
    }
}
