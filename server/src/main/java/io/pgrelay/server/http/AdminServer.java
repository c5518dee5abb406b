package io.pgrelay.server.http;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.timeout.ReadTimeoutHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.pgrelay.conf.AdminConfig;
import io.pgrelay.server.admin.AdminApi;
import io.pgrelay.server.metrics.RelayMetrics;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The HTTP admin endpoint ({@code admin.listen}): health probes, Prometheus metrics and the JSON API, on one
 * event-loop thread of its own, so that a slow scrape never delays client traffic.
 *
 * @see AdminHandler for the endpoints
 */
public final class AdminServer implements AutoCloseable {
    /** Request bodies and headers beyond this are refused; the admin API needs little. */
    private static final int MAX_REQUEST_BYTES = 64 * 1024;
    /** An idle keep-alive connection is closed after this long (Prometheus reconnects). */
    private static final int IDLE_SECONDS = 120;

    private final AdminConfig config;
    private final AdminHandler handler;
    private final EventLoopGroup group;
    private Channel listener;

    /** An endpoint with health probes and metrics only. */
    public AdminServer(AdminConfig config, RelayMetrics metrics, Readiness readiness) {
        this(config, metrics, readiness, null);
    }

    /** An endpoint with the JSON API under {@code /api/v1/} too, showing and doing what {@code api} does. */
    public AdminServer(AdminConfig config, RelayMetrics metrics, Readiness readiness, AdminApi api) {
        this.config = config;
        this.handler = new AdminHandler(metrics, readiness, config.token(), api);
        // NIO rather than epoll: this thread serves a probe every few seconds, not the data path.
        this.group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("pgrelay-admin", true),
                NioIoHandler.newFactory());
    }

    /**
     * Binds {@code admin.listen}.
     *
     * @throws AdminBindException saying {@code cannot listen on <address> (admin.listen): <why>}
     *     when the address cannot be bound
     */
    public AdminServer start() throws AdminBindException, InterruptedException {
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new ReadTimeoutHandler(IDLE_SECONDS))
                                .addLast(new HttpServerCodec())
                                .addLast(new HttpObjectAggregator(MAX_REQUEST_BYTES))
                                .addLast(handler);
                    }
                });
        var bound = b.bind(config.listen().host(), config.listen().port()).await();
        if (!bound.isSuccess()) {
            throw new AdminBindException("cannot listen on " + config.listen() + " (admin.listen): " + bound.cause().getMessage(),
                    bound.cause());
        }
        listener = bound.channel();
        return this;
    }

    /** The address actually bound (useful with port 0). */
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) listener.localAddress();
    }

    @Override
    public void close() throws InterruptedException {
        if (listener != null) {
            listener.close().sync();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }
}
