package io.pgrelay.server.cancel;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.pgrelay.pool.ServerAddress;
import io.pgrelay.wire.message.frontend.StartupPacket.CancelRequest;
import java.security.SecureRandom;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cancel keys pgrelay hands to its clients, and forwarding a client's CancelRequest to the
 * backend running its query with that backend's real key. Keys come from SecureRandom so that
 * one client cannot guess another's.
 *
 * @see <a href="https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-CANCELING-REQUESTS">Canceling requests in progress</a>
 */
public final class CancelRegistry {
    private static final Logger log = LoggerFactory.getLogger(CancelRegistry.class);

    /** What a cancel must reach: a backend's address and its own key. */
    public record Target(ServerAddress node, int processId, int secretKey) {
    }

    /** The client side of a cancel: whoever owns a key cancels what it runs now, if anything. */
    public interface Cancellable {
        /** Called on any thread; sends a cancel for the client's running query, if one runs. */
        void cancelRunningQuery();
    }

    /** A client's cancel key, as sent in BackendKeyData. */
    public record Key(int processId, int secretKey) {
    }

    private final SecureRandom random = new SecureRandom();
    private final Map<Key, Cancellable> clients = new ConcurrentHashMap<>();
    private final Bootstrap bootstrap;

    /** @param bootstrap a bootstrap with group and channel type set, used for the cancel connections */
    public CancelRegistry(Bootstrap bootstrap) {
        this.bootstrap = bootstrap;
    }

    /** Issues a fresh, unused key for a client. */
    public Key register(Cancellable client) {
        while (true) {
            Key key = new Key(random.nextInt() & 0x7FFFFFFF, random.nextInt());
            if (clients.putIfAbsent(key, client) == null) {
                return key;
            }
        }
    }

    public void unregister(Key key) {
        if (key != null) {
            clients.remove(key);
        }
    }

    /** Forwards a client's CancelRequest; an unknown key is ignored, as PostgreSQL does. */
    public void cancel(CancelRequest request) {
        Cancellable client = clients.get(new Key(request.processId(), request.secretKey()));
        if (client == null) {
            log.debug("cancel request with an unknown key ignored");
            return;
        }
        client.cancelRunningQuery();
    }

    /** Sends a CancelRequest for {@code target} on a new connection, as PostgreSQL requires. */
    public void send(Target target) {
        log.debug("sending cancel for backend pid {} on {}", target.processId(), target.node());
        bootstrap.clone().handler(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                ByteBuf out = ctx.alloc().buffer(16);
                new CancelRequest(target.processId(), target.secretKey()).encode(out);
                ctx.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                ctx.close();
            }
        }).connect(target.node().host(), target.node().port()).addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                log.warn("could not send cancel request to {}: {}", target.node(), f.cause().toString());
            }
        });
    }
}
