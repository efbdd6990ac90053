#!/bin/bash
# First start: initdb with POSTGRES_USER as superuser and POSTGRES_PASSWORD (scram-sha-256
# over TCP), create POSTGRES_DB. Every start: run the server as postgres, listening on all
# interfaces of the container.
set -euo pipefail

file_env() {  # VAR: take VAR from VAR_FILE when that is set (Docker secrets)
    local var=$1 file_var="${1}_FILE"
    if [[ -n ${!file_var:-} ]]; then
        [[ -z ${!var:-} ]] || { echo "both $var and $file_var are set" >&2; exit 1; }
        export "$var"="$(<"${!file_var}")"
        unset "$file_var"  # read as root: the server, started again as postgres, need not read it
    fi
}
file_env POSTGRES_PASSWORD
: "${POSTGRES_USER:=postgres}" "${POSTGRES_DB:=$POSTGRES_USER}" "${PGDATA:=/var/lib/postgresql/data}"
[[ -n ${POSTGRES_PASSWORD:-} ]] || { echo "POSTGRES_PASSWORD must be set" >&2; exit 1; }

if [[ $(id -u) == 0 ]]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown -R postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

if [[ ! -s $PGDATA/PG_VERSION ]]; then
    initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile=<(printf '%s' "$POSTGRES_PASSWORD") \
        -E UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
    if [[ $POSTGRES_DB != postgres ]]; then
        printf 'CREATE DATABASE "%s";\n' "$POSTGRES_DB" | postgres --single -D "$PGDATA" -j postgres >/dev/null
    fi
    echo "initialised $PGDATA (user $POSTGRES_USER, database $POSTGRES_DB)"
fi
[[ ${1:-postgres} == postgres ]] && shift || true
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/var/run/postgresql "$@"
