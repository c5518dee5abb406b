package io.pgrelay.pool;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import io.pgrelay.wire.SqlState;
import io.pgrelay.wire.WireException;
import io.pgrelay.wire.auth.Md5Password;
import io.pgrelay.wire.auth.ScramClientSession;
import io.pgrelay.wire.codec.MessageFramer;
import io.pgrelay.wire.message.backend.BackendMessage;
import io.pgrelay.wire.message.backend.BackendMessage.AuthenticationMD5Password;
import io.pgrelay.wire.message.backend.BackendMessage.AuthenticationSASL;
import io.pgrelay.wire.message.backend.BackendMessage.AuthenticationSASLContinue;
import io.pgrelay.wire.message.backend.BackendMessage.AuthenticationSASLFinal;
import io.pgrelay.wire.message.backend.BackendMessage.BackendKeyData;
import io.pgrelay.wire.message.backend.BackendMessage.ErrorResponse;
import io.pgrelay.wire.message.backend.BackendMessage.ParameterStatus;
import io.pgrelay.wire.message.frontend.FrontendMessage;
import io.pgrelay.wire.message.frontend.StartupPacket;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Opens a server connection: TCP connect, StartupMessage, authentication as the client's user,
 * and the ParameterStatus / BackendKeyData that precede the first ReadyForQuery.
 *
 * @see <a href="https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-START-UP">Start-up</a>
 */
public final class ServerConnector {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Bootstrap template;
    private final PoolSettings settings;

    /**
     * @param template a bootstrap with the channel type and options set; its group is replaced by
     *                 the event loop of each connect so client and server share a thread
     */
    public ServerConnector(Bootstrap template, PoolSettings settings) {
        this.template = template;
        this.settings = settings;
    }

    /** Connects on {@code loop}; the future fails with a {@link PoolException}. */
    public Future<ServerConnection> connect(EventLoop loop, PoolKey key, Map<String, String> parameters,
                                            BackendCredentials credentials) {
        Promise<ServerConnection> promise = loop.newPromise();
        int timeoutMillis = (int) settings.connectTimeout().toMillis();
        Bootstrap b = template.clone(loop)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, timeoutMillis)
                .handler(new StartupHandler(key, parameters, credentials, promise));
        b.connect(key.node().host(), key.node().port()).addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                promise.tryFailure(new PoolException(SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
                        "could not connect to server " + key.node() + ": " + rootMessage(f.cause()), null, f.cause()));
            }
        });
        ScheduledFuture<?> timer = loop.schedule(() -> {
            promise.tryFailure(new PoolException(SqlState.SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION,
                    "connecting to server " + key.node() + " took longer than server_connect_timeout "
                            + settings.connectTimeout().toMillis() + "ms"));
        }, timeoutMillis, TimeUnit.MILLISECONDS);
        promise.addListener(f -> timer.cancel(false));
        return promise;
    }

    private static String rootMessage(Throwable t) {
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage() != null ? t.getMessage() : t.toString();
    }

    /** Drives one connection from TCP connect to the first ReadyForQuery. */
    private final class StartupHandler extends ChannelInboundHandlerAdapter implements MessageFramer.Sink {
        private final PoolKey key;
        private final Map<String, String> parameters;
        private final BackendCredentials credentials;
        private final Promise<ServerConnection> promise;
        private final MessageFramer framer = MessageFramer.inspectingAll(settings.maxMessageSize());
        private final Map<String, String> parameterStatus = new LinkedHashMap<>();
        private final List<ByteBuf> afterReady = new ArrayList<>();
        private ChannelHandlerContext ctx;
        private ScramClientSession scram;
        private int processId;
        private int secretKey;
        private boolean done;

        StartupHandler(PoolKey key, Map<String, String> parameters, BackendCredentials credentials,
                       Promise<ServerConnection> promise) {
            this.key = key;
            this.parameters = parameters;
            this.credentials = credentials;
            this.promise = promise;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            this.ctx = ctx;
            if (promise.isDone()) {
                ctx.close();
                return;
            }
            promise.addListener(f -> {
                if (!f.isSuccess()) {
                    ctx.close();
                }
            });
            Map<String, String> startup = new LinkedHashMap<>();
            startup.put("user", key.user());
            startup.put("database", key.database());
            startup.putAll(parameters);
            ByteBuf out = ctx.alloc().buffer(256);
            new StartupPacket.StartupMessage(StartupPacket.PROTOCOL_3_0, startup).encode(out);
            ctx.writeAndFlush(out, ctx.voidPromise());
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (done) {
                ctx.fireChannelRead(msg);
                return;
            }
            try {
                framer.feed((ByteBuf) msg, this);
            } catch (WireException e) {
                fail(e.sqlState(), e.getMessage(), null, e);
            } finally {
                // Messages that came in the same read as ReadyForQuery belong to the connection.
                for (ByteBuf late : afterReady) {
                    ctx.channel().pipeline().fireChannelRead(late);
                }
                afterReady.clear();
            }
        }

        @Override
        public boolean onMessage(byte type, ByteBuf buf, int start, int length) {
            if (done) {
                afterReady.add(buf.retainedSlice(start, length));
                return false;
            }
            if (promise.isDone()) {
                return false;
            }
            BackendMessage message = BackendMessage.decode(buf, start, length);
            try {
                handle(message);
            } catch (WireException e) {
                fail(e.sqlState(), "authentication to server " + key.node() + " failed: " + e.getMessage(), null, e);
            }
            return false;
        }

        private void handle(BackendMessage message) {
            switch (message) {
                case BackendMessage.AuthenticationOk ok -> {
                }
                case BackendMessage.AuthenticationCleartextPassword p -> send(new FrontendMessage.PasswordMessage(plaintext("password")));
                case AuthenticationMD5Password md5 -> send(new FrontendMessage.PasswordMessage(md5Response(md5.salt())));
                case AuthenticationSASL sasl -> startScram(sasl);
                case AuthenticationSASLContinue c -> send(new FrontendMessage.SaslResponse(scram.handleServerFirst(c.data())));
                case AuthenticationSASLFinal f -> scram.handleServerFinal(f.data());
                case BackendMessage.AuthenticationUnsupported u -> throw new WireException(SqlState.FEATURE_NOT_SUPPORTED,
                        "server requested authentication method " + u.code() + ", which pgrelay does not support");
                case ParameterStatus ps -> parameterStatus.put(ps.name(), ps.value());
                case BackendKeyData k -> {
                    processId = k.processId();
                    secretKey = k.secretKey();
                }
                case ErrorResponse e when !e.notice() -> fail(e.sqlState(), e.message(), e, null);
                case BackendMessage.ReadyForQuery rfq -> ready();
                default -> {
                }
            }
        }

        @Override
        public void forward(ByteBuf bytes) {
            // Every message is inspected during startup, so nothing is ever forwarded.
            bytes.release();
        }

        private void startScram(AuthenticationSASL sasl) {
            if (!sasl.mechanisms().contains("SCRAM-SHA-256")) {
                throw new WireException(SqlState.FEATURE_NOT_SUPPORTED,
                        "server offers SASL mechanisms " + sasl.mechanisms() + ", pgrelay speaks SCRAM-SHA-256");
            }
            scram = switch (credentials) {
                case BackendCredentials.Password p -> ScramClientSession.withPassword(p.password(), RANDOM);
                case BackendCredentials.ScramKeys k -> ScramClientSession.withKeys(k.clientKey(), k.serverKey(), RANDOM);
                default -> throw missing("SCRAM-SHA-256");
            };
            send(new FrontendMessage.SaslInitialResponse("SCRAM-SHA-256", scram.clientFirstMessage()));
        }

        private String plaintext(String method) {
            if (credentials instanceof BackendCredentials.Password p) {
                return p.password();
            }
            throw missing(method);
        }

        private String md5Response(byte[] salt) {
            return switch (credentials) {
                case BackendCredentials.Password p -> Md5Password.response(Md5Password.hash(key.user(), p.password()), salt);
                case BackendCredentials.Md5Hash h -> Md5Password.response(h.hash(), salt);
                default -> throw missing("md5");
            };
        }

        private WireException missing(String method) {
            String what = switch (credentials) {
                case BackendCredentials.None n -> "no password for this user in the users file";
                case BackendCredentials.Md5Hash h -> "only an md5 hash for this user in the users file";
                case BackendCredentials.ScramKeys k -> "only a SCRAM secret for this user, which cannot answer this method";
                case BackendCredentials.Password p -> "a password";
            };
            return new WireException(SqlState.INVALID_PASSWORD, "server asked for " + method
                    + " authentication but pgrelay has " + what + "; put a plaintext password or a matching secret in the users file");
        }

        private void send(FrontendMessage message) {
            ByteBuf out = ctx.alloc().buffer(64);
            message.encode(out);
            ctx.writeAndFlush(out, ctx.voidPromise());
        }

        private void ready() {
            done = true;
            framer.release();
            ServerConnection connection = new ServerConnection(ctx.channel(), key, parameters, parameterStatus,
                    processId, secretKey, settings.maxMessageSize(), settings.preparedStatementsPerServer());
            ctx.pipeline().replace(this, "server", connection);
            ctx.channel().config().setAutoRead(false);
            if (!promise.trySuccess(connection)) {
                connection.close();
            }
        }

        private void fail(String sqlState, String message, ErrorResponse serverError, Throwable cause) {
            if (promise.tryFailure(new PoolException(sqlState, message, serverError, cause))) {
                ctx.close();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            framer.release();
            promise.tryFailure(new PoolException(SqlState.CONNECTION_FAILURE,
                    "server " + key.node() + " closed the connection during startup"));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            fail(SqlState.CONNECTION_FAILURE, "server " + key.node() + " connection error: " + rootMessage(cause), null, cause);
            ctx.close();
        }
    }
}
