# pgrelay container image. Build: docker build -t pgrelay:latest .
# Stage 1 builds the runnable jar with the Maven wrapper on a JDK; stage 2 runs it on a JRE as a
# non-root user. Configuration: a file at /etc/pgrelay/pgrelay.yaml (or PGRELAY_CONFIG) and/or
# PGRELAY_* environment variables; see README.md, "Container".

FROM eclipse-temurin:21-jdk AS build
WORKDIR /src
COPY . .
# The cache mount keeps downloaded dependencies between builds (BuildKit, Docker 23 and later).
RUN --mount=type=cache,target=/root/.m2 ./mvnw -B -DskipTests -pl cli -am package

FROM eclipse-temurin:21-jre
RUN groupadd --system --gid 6432 pgrelay \
 && useradd --system --uid 6432 --gid pgrelay --home-dir /opt/pgrelay --shell /usr/sbin/nologin pgrelay
COPY --from=build /src/bin/pgrelay /opt/pgrelay/bin/pgrelay
COPY --from=build /src/cli/target/pgrelay.jar /opt/pgrelay/lib/pgrelay.jar
COPY deploy/docker-entrypoint.sh deploy/healthcheck.sh /opt/pgrelay/bin/
COPY deploy/pgrelay.container.yaml /etc/pgrelay/pgrelay.yaml
ENV PATH=/opt/pgrelay/bin:$PATH \
    PGRELAY_OPTS="-XX:+UseSerialGC -XX:MaxRAMPercentage=75 -Dio.netty.leakDetection.level=disabled"
# Numeric, so that Kubernetes can check runAsNonRoot.
USER 6432:6432
WORKDIR /opt/pgrelay
# 6432: PostgreSQL clients; 6433: the HTTP admin endpoint (health, metrics).
EXPOSE 6432 6433
# bash's /dev/tcp, not curl: the JRE image need not have curl, and a JVM per check would cost more.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 CMD ["healthcheck.sh"]
ENTRYPOINT ["docker-entrypoint.sh"]
