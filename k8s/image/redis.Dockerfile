# The local overlay's throwaway Redis, for machines that reach Debian's packages but no image
# registry (scripts/deploy-test): Debian 12's Redis 7.0, as the redis:7.0 image the overlay names,
# run as that image's user (999) with its data directory /data (an emptyDir in the manifest).
#
#   podman build -f k8s/image/redis.Dockerfile -t localhost/redis:7.0 k8s/image
FROM debian:bookworm-slim
RUN groupadd --system --gid 999 redis \
 && useradd --system --uid 999 --gid redis --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin redis \
 && apt-get update -qq \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir /data && chown redis:redis /data
WORKDIR /data
USER 999:999
CMD ["redis-server"]
