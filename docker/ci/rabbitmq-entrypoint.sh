#!/bin/bash
# Writes the broker's configuration from RABBITMQ_DEFAULT_USER / RABBITMQ_DEFAULT_PASS, then
# runs it as the rabbitmq user, logging to the console.
set -euo pipefail
: "${RABBITMQ_DEFAULT_USER:=guest}" "${RABBITMQ_DEFAULT_PASS:=guest}"

if [[ $(id -u) == 0 ]]; then
    cat >/etc/rabbitmq/rabbitmq.conf <<CONF
default_user = $RABBITMQ_DEFAULT_USER
default_pass = $RABBITMQ_DEFAULT_PASS
loopback_users = none
listeners.tcp.default = 5672
log.console = true
log.console.level = warning
log.file = false
CONF
    chown rabbitmq:rabbitmq /etc/rabbitmq/rabbitmq.conf
    chmod 600 /etc/rabbitmq/rabbitmq.conf
    mkdir -p /var/lib/rabbitmq /var/log/rabbitmq
    chown -R rabbitmq:rabbitmq /var/lib/rabbitmq /var/log/rabbitmq
    exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups "$0" "$@"
fi
export HOME=/var/lib/rabbitmq
[[ ${1:-rabbitmq-server} == rabbitmq-server ]] && shift || true
exec /usr/lib/rabbitmq/bin/rabbitmq-server "$@"
