# CI stand-in for rabbitmq:3-management, from Debian's rabbitmq-server. It honours what
# docker/compose.yaml relies on: RABBITMQ_DEFAULT_USER / RABBITMQ_DEFAULT_PASS, the node
# rabbit@<hostname> with its data in /var/lib/rabbitmq, rabbitmq-diagnostics on PATH, port
# 5672, the broker running as the rabbitmq user.
ARG BASE_IMAGE=registry-ci/debian:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rabbitmq-server \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/lib/rabbitmq/mnesia /var/lib/rabbitmq/.erlang.cookie
COPY docker/ci/rabbitmq-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
EXPOSE 5672
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["rabbitmq-server"]
