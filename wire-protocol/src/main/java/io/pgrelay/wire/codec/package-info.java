/**
 * Framing of the PostgreSQL v3 protocol.
 *
 * <p>Buffer ownership: {@link io.pgrelay.wire.codec.MessageFramer#feed} takes ownership of the
 * buffer it is given; each buffer it passes to {@code Sink.forward} belongs to the sink, which
 * must write it on or release it; a buffer shown to {@code Sink.onMessage} stays the framer's and
 * is valid only during the call. {@link io.pgrelay.wire.codec.StartupPacketDecoder} emits plain
 * objects and keeps no buffer beyond its own cumulation.
 */
package io.pgrelay.wire.codec;
