package io.pgrelay.pool;

import static org.junit.jupiter.api.Assertions.fail;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.util.ReferenceCountUtil;
import io.pgrelay.wire.codec.Frames;
import io.pgrelay.wire.codec.StartupPacketDecoder;
import io.pgrelay.wire.message.backend.BackendMessage;
import io.pgrelay.wire.message.backend.TransactionStatus;
import io.pgrelay.wire.message.frontend.StartupPacket.StartupMessage;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A scripted PostgreSQL backend for tests, on real TCP at 127.0.0.1 and an ephemeral port. Each
 * accepted connection becomes a {@link Backend} that records what the frontend sent and lets its
 * {@link Script} answer; scripts run on the fake's event loop.
 */
final class FakePostgres implements AutoCloseable {
    /** What one backend does with the frontend's messages. */
    interface Script {
        void onStartup(Backend backend, StartupMessage startup);

        /** A typed message: type byte, length and body. Released after the call. */
        default void onMessage(Backend backend, ByteBuf message) {
        }
    }

    /** One frontend message as received. */
    record Received(char type, byte[] body) {
        /** The body as the null-terminated string a Query or PasswordMessage holds. */
        String cString() {
            int len = body.length > 0 && body[body.length - 1] == 0 ? body.length - 1 : body.length;
            return new String(body, 0, len, StandardCharsets.UTF_8);
        }
    }

    private final Channel serverChannel;
    private final List<Backend> backends = new CopyOnWriteArrayList<>();

    FakePostgres(EventLoopGroup group, ByteBufAllocator alloc, Supplier<Script> scripts) throws InterruptedException {
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.ALLOCATOR, alloc)
                .childOption(ChannelOption.ALLOCATOR, alloc)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        Backend backend = new Backend(backends.size(), ch, scripts.get());
                        backends.add(backend);
                        ch.closeFuture().addListener(f -> backend.closed.complete(null));
                        ch.pipeline().addLast(new StartupPacketDecoder(),
                                new LengthFieldBasedFrameDecoder(1 << 20, 1, 4, -4, 0), backend);
                    }
                });
        serverChannel = b.bind("127.0.0.1", 0).sync().channel();
    }

    int port() {
        return ((java.net.InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    ServerAddress address(String nodeName) {
        return new ServerAddress(nodeName, "127.0.0.1", port());
    }

    /** Connections accepted so far. */
    int connections() {
        return backends.size();
    }

    /** The {@code n}th connection accepted (from 0), waiting a little for it to arrive. */
    Backend backend(int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (backends.size() <= n) {
            if (System.nanoTime() > deadline) {
                fail("fake server accepted " + backends.size() + " connections, expected at least " + (n + 1));
            }
            Thread.sleep(2);
        }
        return backends.get(n);
    }

    @Override
    public void close() {
        serverChannel.close().syncUninterruptibly();
        for (Backend backend : backends) {
            backend.channel.close().syncUninterruptibly();
        }
    }

    /** Answers startup as a server whose pg_hba says trust. */
    static void trust(Backend backend, int processId) {
        backend.send(BackendMessage.AuthenticationOk.INSTANCE);
        ready(backend, processId);
    }

    /** The messages after AuthenticationOk up to the first ReadyForQuery. */
    static void ready(Backend backend, int processId) {
        backend.send(new BackendMessage.ParameterStatus("server_version", "17.2"),
                new BackendMessage.ParameterStatus("client_encoding", "UTF8"),
                new BackendMessage.BackendKeyData(processId, 0x5EED0000 + processId),
                new BackendMessage.ReadyForQuery(TransactionStatus.IDLE));
    }

    /** One accepted connection, the handler of its channel. */
    static final class Backend extends ChannelInboundHandlerAdapter {
        final int number;
        final Channel channel;
        final CompletableFuture<StartupMessage> startup = new CompletableFuture<>();
        final CompletableFuture<Void> closed = new CompletableFuture<>();
        final List<Received> received = new CopyOnWriteArrayList<>();
        private final Script script;

        Backend(int number, Channel channel, Script script) {
            this.number = number;
            this.channel = channel;
            this.script = script;
        }

        /** The SQL of every simple Query received, in order. */
        List<String> queries() {
            List<String> sql = new ArrayList<>();
            for (Received r : received) {
                if (r.type() == 'Q') {
                    sql.add(r.cString());
                }
            }
            return sql;
        }

        /** Whether the frontend said goodbye with Terminate. */
        boolean terminated() {
            return received.stream().anyMatch(r -> r.type() == 'X');
        }

        StartupMessage startup() throws Exception {
            return startup.get(3, TimeUnit.SECONDS);
        }

        void awaitClosed() throws Exception {
            closed.get(3, TimeUnit.SECONDS);
        }

        /** Sends the messages in one write, as a server typically does. */
        void send(BackendMessage... messages) {
            ByteBuf out = channel.alloc().buffer();
            for (BackendMessage m : messages) {
                m.encode(out);
            }
            channel.writeAndFlush(out, channel.voidPromise());
        }

        /** Sends the messages one byte per write, so the frontend sees them split across reads. */
        void sendSplit(BackendMessage... messages) {
            ByteBuf out = channel.alloc().buffer();
            try {
                for (BackendMessage m : messages) {
                    m.encode(out);
                }
                for (int i = out.readerIndex(); i < out.writerIndex(); i++) {
                    channel.writeAndFlush(out.retainedSlice(i, 1), channel.voidPromise());
                }
            } finally {
                out.release();
            }
        }

        /** CommandComplete with {@code tag}, then ReadyForQuery with {@code status}. */
        void complete(String tag, TransactionStatus status) {
            ByteBuf out = channel.alloc().buffer();
            int start = Frames.begin(out, 'C');
            Frames.writeCString(out, tag);
            Frames.end(out, start);
            new BackendMessage.ReadyForQuery(status).encode(out);
            channel.writeAndFlush(out, channel.voidPromise());
        }

        /** Sends a FATAL ErrorResponse and closes, as PostgreSQL does when it refuses a connection. */
        void fatal(String sqlState, String message) {
            ByteBuf out = channel.alloc().buffer();
            BackendMessage.Errors.fatal(sqlState, message).encode(out);
            channel.writeAndFlush(out).addListener(ChannelFutureListener.CLOSE);
        }

        void close() {
            channel.close();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof StartupMessage s) {
                    startup.complete(s);
                    script.onStartup(this, s);
                } else if (msg instanceof ByteBuf frame) {
                    byte[] body = new byte[frame.readableBytes() - 5];
                    frame.getBytes(frame.readerIndex() + 5, body);
                    received.add(new Received((char) frame.getByte(frame.readerIndex()), body));
                    script.onMessage(this, frame);
                } else {
                    fail("fake server got an unexpected " + msg);
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
