# CI stand-in for axllent/mailpit, from Debian's python3-aiosmtpd: SMTP on 1025, and on 8025
# the part of mailpit's HTTP API the stack check reads (/readyz, /api/v1/messages,
# /api/v1/message/{ID}/raw). `/mailpit readyz` is its healthcheck, as with mailpit.
ARG BASE_IMAGE=registry-ci/debian:bookworm
FROM ${BASE_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-aiosmtpd \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
COPY --chmod=755 docker/ci/mailcatcher.py /mailpit
USER 65534:65534
EXPOSE 1025 8025
ENTRYPOINT ["/mailpit"]
