package io.pgrelay.server.http;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.pgrelay.server.admin.AdminApi;
import io.pgrelay.server.admin.NodeControl;
import io.pgrelay.server.reload.ReloadResult;
import io.pgrelay.server.admin.View;
import io.pgrelay.server.metrics.RelayMetrics;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers the admin endpoint's requests: {@code /health/live}, {@code /health/ready},
 * {@code /metrics} and the JSON API under {@code /api/v1/}. Health probes need no token, so that
 * orchestrators can call them; everything else needs {@code Authorization: Bearer <admin.token>}
 * when a token is configured. Errors are JSON objects {@code {"error": ..., "message": ...}}.
 */
@ChannelHandler.Sharable
final class AdminHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final Logger log = LoggerFactory.getLogger(AdminHandler.class);
    static final String LIVE = "/health/live";
    static final String READY = "/health/ready";
    static final String METRICS = "/metrics";
    static final String API = "/api/v1/";
    /** The API's GET endpoints, after {@link #API}. */
    static final List<String> API_VIEWS = List.of("pools", "clients", "servers", "stats", "databases", "config",
            "nodes", "routing");
    /** The API's POST endpoints, after {@link #API}. */
    static final List<String> API_ACTIONS = List.of("pause", "resume", "reload");
    /** The POST endpoints on one node, after {@link #API}. */
    static final String NODE_ACTIONS = "nodes/{name}/{promote,attach,detach}";
    private static final Pattern NODE_ACTION = Pattern.compile("nodes/([^/]+)/(promote|attach|detach)");
    /** The Prometheus text format that {@link RelayMetrics#scrape()} writes. */
    static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
    private static final String JSON = "application/json";

    private final RelayMetrics metrics;
    private final Readiness readiness;
    private final byte[] expectedAuthorization;
    private final AdminApi api;

    /**
     * @param token the bearer token requests other than health probes must send, if any
     * @param api   what the {@code /api/v1/} endpoints show and do; null leaves them out
     */
    AdminHandler(RelayMetrics metrics, Readiness readiness, Optional<String> token, AdminApi api) {
        this.metrics = metrics;
        this.readiness = readiness;
        this.api = api;
        this.expectedAuthorization = token.map(t -> ("Bearer " + t).getBytes(StandardCharsets.US_ASCII)).orElse(null);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
        if (!request.decoderResult().isSuccess()) {
            FullHttpResponse response = error(HttpResponseStatus.BAD_REQUEST, "the request is not valid HTTP/1.1");
            send(ctx, response, false);
            return;
        }
        // The request is released when this method returns; the answer may come later.
        boolean keepAlive = HttpUtil.isKeepAlive(request);
        QueryStringDecoder uri = new QueryStringDecoder(request.uri());
        String path = uri.path();
        if (api != null && path.startsWith(API) && authorized(request)) {
            Future<FullHttpResponse> answer;
            try {
                answer = api(ctx.executor(), request.method(), path.substring(API.length()), uri.parameters());
            } catch (IllegalArgumentException e) {
                answer = ctx.executor().newSucceededFuture(error(HttpResponseStatus.BAD_REQUEST, e.getMessage()));
            }
            answer.addListener(f -> send(ctx, f.isSuccess() ? (FullHttpResponse) f.getNow()
                    : error(HttpResponseStatus.INTERNAL_SERVER_ERROR, String.valueOf(f.cause())), keepAlive));
            return;
        }
        send(ctx, answer(request, path), keepAlive);
    }

    private static void send(ChannelHandlerContext ctx, FullHttpResponse response, boolean keepAlive) {
        HttpUtil.setKeepAlive(response, keepAlive);
        response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
        var written = ctx.writeAndFlush(response);
        if (!keepAlive) {
            written.addListener(ChannelFutureListener.CLOSE);
        }
    }

    private FullHttpResponse answer(FullHttpRequest request, String path) {
        boolean health = path.equals(LIVE) || path.equals(READY);
        if (!health && !authorized(request)) {
            FullHttpResponse r = error(HttpResponseStatus.UNAUTHORIZED,
                    "send the admin token as Authorization: Bearer <admin.token>");
            r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"pgrelay\"");
            return r;
        }
        if (!health && !path.equals(METRICS)) {
            return error(HttpResponseStatus.NOT_FOUND, "no endpoint " + path + "; there are " + LIVE + ", " + READY
                    + (api == null ? " and " + METRICS : ", " + METRICS + " and " + API + "{"
                    + String.join(",", API_VIEWS) + "," + String.join(",", API_ACTIONS) + "} and POST " + API
                    + NODE_ACTIONS));
        }
        if (!request.method().equals(HttpMethod.GET)) {
            return notAllowed(path, request.method(), HttpMethod.GET);
        }
        return switch (path) {
            case LIVE -> json(HttpResponseStatus.OK, Map.of("status", "live"));
            case READY -> ready();
            default -> response(HttpResponseStatus.OK, PROMETHEUS_TEXT, metrics.scrape());
        };
    }

    /**
     * An {@code /api/v1/} request, after the prefix: a GET of a view, or a POST of an action.
     *
     * @throws IllegalArgumentException for a parameter the action refuses (answered 400)
     */
    private Future<FullHttpResponse> api(EventExecutor home, HttpMethod method, String endpoint,
                                         Map<String, List<String>> parameters) {
        Matcher nodeAction = NODE_ACTION.matcher(endpoint);
        if (nodeAction.matches()) {
            if (!method.equals(HttpMethod.POST)) {
                return home.newSucceededFuture(notAllowed(API + endpoint, method, HttpMethod.POST));
            }
            return node(home, NodeControl.Operation.valueOf(nodeAction.group(2).toUpperCase(Locale.ROOT)),
                    QueryStringDecoder.decodeComponent(nodeAction.group(1)));
        }
        boolean view = API_VIEWS.contains(endpoint);
        if (!view && !API_ACTIONS.contains(endpoint)) {
            return home.newSucceededFuture(error(HttpResponseStatus.NOT_FOUND, "no endpoint " + API + endpoint
                    + "; there are GET " + API + "{" + String.join(",", API_VIEWS) + "} and POST " + API + "{"
                    + String.join(",", API_ACTIONS) + "," + NODE_ACTIONS + "}"));
        }
        HttpMethod allowed = view ? HttpMethod.GET : HttpMethod.POST;
        if (!method.equals(allowed)) {
            return home.newSucceededFuture(notAllowed(API + endpoint, method, allowed));
        }
        return switch (endpoint) {
            case "pools" -> rendered(home, api.pools(home));
            case "clients" -> rendered(home, api.clients(home));
            case "servers" -> rendered(home, api.servers(home));
            case "stats" -> rendered(home, api.stats(home));
            case "databases" -> rendered(home, api.databases(home));
            case "config" -> home.newSucceededFuture(array(api.config()));
            case "nodes" -> home.newSucceededFuture(array(api.nodes()));
            case "routing" -> home.newSucceededFuture(array(api.routing()));
            case "pause" -> pause(home, database(parameters));
            case "reload" -> reload(home);
            default -> {
                String database = database(parameters);
                api.resume(database);
                yield home.newSucceededFuture(action("resume", database, null));
            }
        };
    }

    /**
     * {@code {"action":..,"node":..,"done":true|false,"message":..}}: 200 when done, 409 with the
     * controller's reason when refused, 404 for an unknown node.
     */
    private Future<FullHttpResponse> node(EventExecutor home, NodeControl.Operation operation, String node) {
        Promise<FullHttpResponse> response = home.newPromise();
        api.node(home, operation, node).addListener(f -> {
            NodeControl.Outcome o = (NodeControl.Outcome) f.getNow();
            HttpResponseStatus status = switch (o.status()) {
                case DONE -> HttpResponseStatus.OK;
                case REFUSED -> HttpResponseStatus.CONFLICT;
                case UNKNOWN_NODE -> HttpResponseStatus.NOT_FOUND;
                case UNAVAILABLE -> HttpResponseStatus.SERVICE_UNAVAILABLE;
            };
            if (o.status() != NodeControl.Status.DONE && o.status() != NodeControl.Status.REFUSED) {
                response.trySuccess(error(status, o.message()));
                return;
            }
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("action", operation.word());
            body.put("node", node);
            body.put("done", o.status() == NodeControl.Status.DONE);
            body.put("message", o.message());
            if (o.status() == NodeControl.Status.REFUSED) {
                body.put("error", status.reasonPhrase().toLowerCase(Locale.ROOT));
            }
            response.trySuccess(response(status, JSON, Json.object(body) + "\n"));
        });
        return response;
    }

    private Future<FullHttpResponse> pause(EventExecutor home, String database) {
        Promise<FullHttpResponse> response = home.newPromise();
        api.pause(home, database).addListener(f -> response.trySuccess(f.isSuccess()
                ? action("pause", database, (Integer) f.getNow())
                : error(HttpResponseStatus.INTERNAL_SERVER_ERROR, String.valueOf(f.cause()))));
        return response;
    }

    /** The {@code database} query parameter: absent means every database; present, it must name one. */
    /** 200 with the changes, or 422 with the problems when the new configuration is invalid. */
    private Future<FullHttpResponse> reload(EventExecutor home) {
        Promise<FullHttpResponse> response = home.newPromise();
        api.reload(home).addListener(f -> {
            if (!f.isSuccess()) {
                response.setFailure(f.cause());
                return;
            }
            ReloadResult r = (ReloadResult) f.getNow();
            response.setSuccess(response(r.ok() ? HttpResponseStatus.OK : HttpResponseStatus.UNPROCESSABLE_ENTITY,
                    JSON, r.toJson() + "\n"));
        });
        return response;
    }

    private static String database(Map<String, List<String>> parameters) {
        List<String> values = parameters.getOrDefault("database", List.of());
        if (values.size() > 1 || (values.size() == 1 && values.get(0).isEmpty())) {
            throw new IllegalArgumentException("database= takes one database name; leave it out for every database");
        }
        Set<String> unknown = new TreeSet<>(parameters.keySet());
        unknown.remove("database");
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("unknown parameter " + String.join(", ", unknown)
                    + "; the only one is database");
        }
        return values.isEmpty() ? null : values.get(0);
    }

    /** {@code {"action":..,"database":..[,"still_leased":n]}}; database null means every database. */
    private static FullHttpResponse action(String action, String database, Integer stillLeased) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("action", action);
        body.put("database", database);
        if (stillLeased != null) {
            body.put("still_leased", stillLeased);
        }
        return response(HttpResponseStatus.OK, JSON, Json.object(body) + "\n");
    }

    private static Future<FullHttpResponse> rendered(EventExecutor home, Future<View> view) {
        Promise<FullHttpResponse> response = home.newPromise();
        view.addListener(f -> response.trySuccess(f.isSuccess() ? array((View) f.getNow())
                : error(HttpResponseStatus.INTERNAL_SERVER_ERROR, String.valueOf(f.cause()))));
        return response;
    }

    private static FullHttpResponse array(View view) {
        return response(HttpResponseStatus.OK, JSON, Json.array(view) + "\n");
    }

    private static FullHttpResponse notAllowed(String path, HttpMethod method, HttpMethod allowed) {
        FullHttpResponse r = error(HttpResponseStatus.METHOD_NOT_ALLOWED, path + " answers " + allowed
                + " only, not " + method);
        r.headers().set(HttpHeaderNames.ALLOW, allowed.name());
        return r;
    }

    private FullHttpResponse ready() {
        Optional<String> why = readiness.whyNotReady();
        if (why.isEmpty()) {
            return json(HttpResponseStatus.OK, Map.of("status", "ready"));
        }
        Map<String, String> body = new LinkedHashMap<>();
        body.put("status", "not ready");
        body.put("reason", why.get());
        return json(HttpResponseStatus.SERVICE_UNAVAILABLE, body);
    }

    private boolean authorized(FullHttpRequest request) {
        if (expectedAuthorization == null) {
            return true;
        }
        String given = request.headers().get(HttpHeaderNames.AUTHORIZATION);
        // Constant time, so the comparison does not tell how much of a guess was right.
        return given != null && MessageDigest.isEqual(given.getBytes(StandardCharsets.US_ASCII), expectedAuthorization);
    }

    private static FullHttpResponse error(HttpResponseStatus status, String message) {
        Map<String, String> body = new LinkedHashMap<>();
        body.put("error", status.reasonPhrase().toLowerCase(java.util.Locale.ROOT));
        body.put("message", message);
        return json(status, body);
    }

    private static FullHttpResponse json(HttpResponseStatus status, Map<String, ?> body) {
        return response(status, JSON, Json.object(body) + "\n");
    }

    private static FullHttpResponse response(HttpResponseStatus status, String contentType, String body) {
        FullHttpResponse r = new DefaultFullHttpResponse(io.netty.handler.codec.http.HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        r.headers().set(HttpHeaderNames.CACHE_CONTROL, HttpHeaderValues.NO_STORE);
        return r;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("admin connection {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
        ctx.close();
    }
}
