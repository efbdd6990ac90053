# CI stand-in for redis:7, from Debian's redis-server. It honours what docker/compose.yaml
# relies on: redis-server and redis-cli on PATH, port 6379 on every interface, the server
# running as the redis user.
ARG BASE_IMAGE=registry-ci/debian:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server redis-tools \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
USER redis
WORKDIR /var/lib/redis
EXPOSE 6379
CMD ["redis-server", "--protected-mode", "no"]
