package io.pgrelay.server.admin;

import io.netty.channel.Channel;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.pgrelay.pool.Pool;
import io.pgrelay.pool.PoolKey;
import io.pgrelay.pool.ServerConnection;
import io.pgrelay.server.session.ClientHandler;
import io.pgrelay.server.session.ClientIdentity;
import io.pgrelay.server.session.ClientSession;
import io.pgrelay.server.session.ClientState;
import io.pgrelay.server.session.SessionServices;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The pools, server connections and clients of the whole process at one moment. Pools and
 * sessions are owned by their event loops, so each loop's part is read on that loop and the
 * parts are put together on the console's loop.
 */
record Snapshot(List<PoolView> pools, List<ServerView> servers, List<ClientView> clients) {

    /** One pool's numbers on one event loop. */
    record PoolView(PoolKey key, int total, int active, int idle, int waiting, boolean paused,
                     long serversOpened, long answered, long transactions) {
    }

    /** One server connection; {@code client} is the address of the client it serves, or null. */
    record ServerView(PoolKey key, String state, int processId, Duration age, SocketAddress client) {
    }

    /**
     * One client connection.
     *
     * @param state     login, waiting, active (holds a server), idle (holds none) or admin
     * @param serverPid the backend pid of the server it holds, or 0
     * @param pinReason why it keeps its server in transaction pooling, or null
     */
    record ClientView(ClientIdentity identity, String state, SocketAddress address, int serverPid,
                      String pinReason) {
    }

    /** Takes a snapshot; the future completes on {@code home}. */
    static Future<Snapshot> take(SessionServices services, EventExecutor home) {
        Set<EventExecutor> loops = new LinkedHashSet<>();
        services.pools().all().forEach(p -> loops.add(p.loop()));
        for (ClientHandler c : services.clients()) {
            Channel ch = c.channel();
            if (ch != null && ch.isRegistered()) {
                loops.add(ch.eventLoop());
            }
        }
        Promise<Snapshot> result = home.newPromise();
        if (loops.isEmpty()) {
            result.setSuccess(new Snapshot(List.of(), List.of(), List.of()));
            return result;
        }
        ConcurrentLinkedQueue<Snapshot> parts = new ConcurrentLinkedQueue<>();
        AtomicInteger remaining = new AtomicInteger(loops.size());
        for (EventExecutor loop : loops) {
            loop.submit(() -> part(services, loop)).addListener(f -> {
                if (!f.isSuccess()) {
                    result.tryFailure(f.cause());
                    return;
                }
                parts.add((Snapshot) f.getNow());
                if (remaining.decrementAndGet() == 0) {
                    home.execute(() -> result.trySuccess(merge(parts)));
                }
            });
        }
        return result;
    }

    /** What lives on {@code loop}; runs on it. */
    private static Snapshot part(SessionServices services, EventExecutor loop) {
        List<ClientHandler> clients = new ArrayList<>();
        Map<ServerConnection, SocketAddress> leasedTo = new HashMap<>();
        for (ClientHandler c : services.clients()) {
            Channel ch = c.channel();
            if (ch != null && ch.isRegistered() && ch.eventLoop() == loop) {
                clients.add(c);
                if (c instanceof ClientSession s && s.server() != null) {
                    leasedTo.put(s.server(), ch.remoteAddress());
                }
            }
        }
        List<PoolView> pools = new ArrayList<>();
        List<ServerView> servers = new ArrayList<>();
        for (Pool p : services.pools().all()) {
            if (p.loop() != loop) {
                continue;
            }
            pools.add(new PoolView(p.key(), p.total(), p.active(), p.idle(), p.waiting(), p.paused(),
                    p.serversOpened(), p.answered(), p.transactions()));
            for (ServerConnection s : p.servers()) {
                servers.add(new ServerView(p.key(), s.state().name().toLowerCase(Locale.ROOT), s.processId(),
                        Duration.ofNanos(s.ageNanos()), leasedTo.get(s)));
            }
        }
        List<ClientView> views = new ArrayList<>();
        for (ClientHandler c : clients) {
            ClientIdentity id = c.identity();
            if (id == null || c.state() == ClientState.CLOSED) {
                // Not yet past its StartupMessage, or already leaving: nothing to show.
                continue;
            }
            ServerConnection server = c instanceof ClientSession s ? s.server() : null;
            String pin = c instanceof ClientSession s ? s.pinReason() : null;
            views.add(new ClientView(id, clientState(c), c.channel().remoteAddress(),
                    server == null ? 0 : server.processId(), pin));
        }
        return new Snapshot(pools, servers, views);
    }

    private static String clientState(ClientHandler c) {
        if (c instanceof AdminConsole) {
            return "admin";
        }
        return switch (c.state()) {
            case STARTUP, AUTHENTICATING -> "login";
            case WAITING_FOR_SERVER -> "waiting";
            case ACTIVE -> c instanceof ClientSession s && s.server() == null
                    ? (s.waitingForServer() ? "waiting" : "idle") : "active";
            case CLOSED -> "closing";
        };
    }

    private static Snapshot merge(Iterable<Snapshot> parts) {
        List<PoolView> pools = new ArrayList<>();
        List<ServerView> servers = new ArrayList<>();
        List<ClientView> clients = new ArrayList<>();
        for (Snapshot s : parts) {
            pools.addAll(s.pools());
            servers.addAll(s.servers());
            clients.addAll(s.clients());
        }
        return new Snapshot(pools, servers, clients);
    }
}
