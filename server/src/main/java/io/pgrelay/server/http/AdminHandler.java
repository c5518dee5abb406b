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
import io.pgrelay.server.metrics.RelayMetrics;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers the admin endpoint's requests: {@code /health/live}, {@code /health/ready} and
 * {@code /metrics}. Health probes need no token, so that orchestrators can call them; everything
 * else needs {@code Authorization: Bearer <admin.token>} when a token is configured. Errors are
 * JSON objects {@code {"error": ..., "message": ...}}.
 */
@ChannelHandler.Sharable
final class AdminHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final Logger log = LoggerFactory.getLogger(AdminHandler.class);
    static final String LIVE = "/health/live";
    static final String READY = "/health/ready";
    static final String METRICS = "/metrics";
    /** The Prometheus text format that {@link RelayMetrics#scrape()} writes. */
    static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
    private static final String JSON = "application/json";

    private final RelayMetrics metrics;
    private final Readiness readiness;
    private final byte[] expectedAuthorization;

    /** @param token the bearer token requests other than health probes must send, if any */
    AdminHandler(RelayMetrics metrics, Readiness readiness, Optional<String> token) {
        this.metrics = metrics;
        this.readiness = readiness;
        this.expectedAuthorization = token.map(t -> ("Bearer " + t).getBytes(StandardCharsets.US_ASCII)).orElse(null);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
        FullHttpResponse response;
        if (!request.decoderResult().isSuccess()) {
            response = error(HttpResponseStatus.BAD_REQUEST, "the request is not valid HTTP/1.1");
            HttpUtil.setKeepAlive(response, false);
        } else {
            response = answer(request);
            HttpUtil.setKeepAlive(response, HttpUtil.isKeepAlive(request));
        }
        response.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
        var written = ctx.writeAndFlush(response);
        if (!HttpUtil.isKeepAlive(response)) {
            written.addListener(ChannelFutureListener.CLOSE);
        }
    }

    private FullHttpResponse answer(FullHttpRequest request) {
        String path = new QueryStringDecoder(request.uri()).path();
        boolean health = path.equals(LIVE) || path.equals(READY);
        if (!health && !authorized(request)) {
            FullHttpResponse r = error(HttpResponseStatus.UNAUTHORIZED,
                    "send the admin token as Authorization: Bearer <admin.token>");
            r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer realm=\"pgrelay\"");
            return r;
        }
        if (!health && !path.equals(METRICS)) {
            return error(HttpResponseStatus.NOT_FOUND, "no endpoint " + path + "; there are " + LIVE + ", " + READY
                    + " and " + METRICS);
        }
        if (!request.method().equals(HttpMethod.GET)) {
            FullHttpResponse r = error(HttpResponseStatus.METHOD_NOT_ALLOWED, path + " answers GET only, not "
                    + request.method());
            r.headers().set(HttpHeaderNames.ALLOW, HttpMethod.GET.name());
            return r;
        }
        return switch (path) {
            case LIVE -> json(HttpResponseStatus.OK, Map.of("status", "live"));
            case READY -> ready();
            default -> response(HttpResponseStatus.OK, PROMETHEUS_TEXT, metrics.scrape());
        };
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

    private static FullHttpResponse json(HttpResponseStatus status, Map<String, String> body) {
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
