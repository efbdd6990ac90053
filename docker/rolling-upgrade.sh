#!/usr/bin/env bash
# A rolling upgrade, or a rollback, of the registry's containers to another release's image,
# with the API answering throughout (docker/RUNBOOK.md, "Rolling upgrade" and "Rolling back"):
#
#   export COMPOSE_FILE=docker/compose.yaml
#   bash docker/rolling-upgrade.sh 0.2.0          # the TAG of the release to run
#
# The target image must be on this machine (`TAG=0.2.0 docker compose build`, or loaded).
#
# 1. The schema. When the database is at a revision the target release does not know (a
#    rollback past a release that added revisions), it first steps down to the target's head
#    with the RUNNING release's image, which holds the downgrade code. Then `migrate` runs
#    once, with the target image (an upgrade's new revisions: expand/contract keeps the
#    running release working on the new schema while both run).
# 2. api, one replica at a time: a new replica on the target image, until Compose reports it
#    healthy and the proxy's checks have it UP; then one old replica is drained at the proxy
#    (no new requests; HAProxy's runtime API), its in-flight requests finish, and it is
#    stopped (SIGTERM: it finishes whatever it still holds) and removed. As many replicas as
#    before, never fewer.
# 3. worker, one replica at a time in the same way (SIGTERM: running actors finish; a message
#    not acknowledged is delivered again), then scheduler (recreated: one leader).
# The proxy is not touched (its image is PROXY_TAG's).
#
# Settings: COMPOSE (the Compose command, default "docker compose"; the Compose file from
# COMPOSE_FILE, or -f/-p in COMPOSE), ROLL_TIMEOUT (seconds a new replica gets to become
# healthy and UP, default 180).
set -euo pipefail
TARGET=${1:-}
[[ -n $TARGET && $TARGET != -* ]] || { echo "usage: $0 TAG   (the release to run, e.g. 0.2.0)" >&2; exit 2; }
read -r -a COMPOSE_CMD <<<"${COMPOSE:-docker compose}"
TIMEOUT=${ROLL_TIMEOUT:-180}
START=$SECONDS

say() { printf '[rolling-upgrade %4ds] %s\n' $((SECONDS - START)) "$*"; }
die() { printf 'rolling-upgrade FAILED: %s\n' "$*" >&2; exit 1; }
c() { "${COMPOSE_CMD[@]}" "$@"; }
# Compose with the target release's image (TAG), and with the running one's.
on_target() { TAG=$TARGET "${COMPOSE_CMD[@]}" "$@"; }
on_running() { TAG=$RUNNING_TAG "${COMPOSE_CMD[@]}" "$@"; }
label() { docker image inspect -f "{{index .Config.Labels \"org.opencontainers.image.$1\"}}" "$2"; }
name() { docker inspect -f '{{.Name}}' "$1" | tr -d /; }
proxy() { c exec -T proxy proxy-admin "$1"; }
# A container's address on the network it shares with the proxy (the project's `edge`).
edge_ip() {
    docker inspect -f '{{range $net, $conf := .NetworkSettings.Networks}}{{$net}} {{$conf.IPAddress}}{{"\n"}}{{end}}' "$1" \
        | awk '$1 ~ /_edge$/ {print $2}'
}
# The proxy's server slot holding an address: name, operational state (2 = UP), admin state (0 = ready).
slot_of() { proxy "show servers state api" | awk -v ip="$1" '$5 == ip {print $4, $6, $7}'; }
until_within() { # SECONDS WHAT COMMAND...: run COMMAND until it succeeds, or fail after SECONDS.
    local limit=$1 what=$2 deadline=$((SECONDS + $1))
    shift 2
    until "$@"; do
        ((SECONDS < deadline)) || die "$what: not within ${limit}s"
        sleep 1
    done
}

mapfile -t OLD_API < <(c ps -q api)
((${#OLD_API[@]})) || die "no api replica is running: start the stack first (docker compose up --detach --wait)"
RUNNING_IMAGE=$(docker inspect -f '{{.Config.Image}}' "${OLD_API[0]}")
RUNNING_TAG=${RUNNING_IMAGE##*:}
# The Compose file's image is ${REGISTRY_IMAGE}:${TAG}: the running one's repository unless
# REGISTRY_IMAGE says another.
TARGET_IMAGE=${REGISTRY_IMAGE:-${RUNNING_IMAGE%:*}}:$TARGET
docker image inspect "$TARGET_IMAGE" >/dev/null 2>&1 \
    || die "the image $TARGET_IMAGE is not on this machine: build it (TAG=$TARGET docker compose build) or load it"
info=$(proxy "show info" 2>/dev/null || true)
[[ $info == *"Name: HAProxy"* ]] \
    || die "the proxy's runtime API does not answer (docker compose exec proxy proxy-admin 'show info'): its image predates it; upgrade the proxy first (docker/RUNBOOK.md)"
say "from $RUNNING_IMAGE (version $(label version "$RUNNING_IMAGE")) to $TARGET_IMAGE (version $(label version "$TARGET_IMAGE"), revision $(label revision "$TARGET_IMAGE"))"

# 1. The schema.
DB_REVISION=$(c exec -T postgres sh -c 'psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -tAc "SELECT version_num FROM alembic_version"')
HEADS='import sys
from alembic.script import ScriptDirectory
from migrations.config import alembic_config
script = ScriptDirectory.from_config(alembic_config())
try:
    known = script.get_revision(sys.argv[1]) is not None
except Exception:
    known = False
print(script.get_current_head(), "known" if known else "unknown")'
read -r TARGET_HEAD KNOWN < <(docker run --rm --network none "$TARGET_IMAGE" python -c "$HEADS" "$DB_REVISION") \
    || die "could not read the Alembic head of $TARGET_IMAGE"
if [[ $KNOWN == unknown ]]; then
    say "the database is at revision $DB_REVISION, which $TARGET does not know: down to its head $TARGET_HEAD with $RUNNING_TAG's Alembic"
    on_running run --rm --no-deps migrate python -c \
        "from alembic import command; from migrations.config import alembic_config; command.downgrade(alembic_config(), '$TARGET_HEAD')" \
        || die "the downgrade to $TARGET_HEAD failed: the schema is as Alembic's transaction left it; nothing else changed"
    DB_REVISION=$TARGET_HEAD
fi
on_target up --detach --no-deps --no-build migrate
MIGRATE=$(c ps -aq migrate)
code=$(docker wait "$MIGRATE")
if [[ $code != 0 ]]; then
    c logs --tail 40 migrate >&2
    die "migrate ($TARGET) exited $code: the running replicas are untouched; read the log above, fix, run again"
fi
say "migrate ($TARGET) ran once: revision $DB_REVISION -> $(c exec -T postgres sh -c 'psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -tAc "SELECT version_num FROM alembic_version"')"

# 2. and 3.: a replica at a time. roll SERVICE: start a new one, wait, retire an old one.
roll() {
    local service=$1 old new before ip slot op admin replaced=0
    mapfile -t olds < <(c ps -q "$service")
    local count=${#olds[@]}
    for old in "${olds[@]}"; do
        if [[ $(docker inspect -f '{{.Config.Image}}' "$old") == "$TARGET_IMAGE" ]]; then
            continue # already on the target (a run that stopped half way)
        fi
        before=$(c ps -q "$service" | sort)
        on_target up --detach --wait --wait-timeout "$TIMEOUT" --no-deps --no-build --no-recreate \
            --scale "$service=$((count + 1))" "$service" >/dev/null
        new=$(comm -13 <(echo "$before") <(c ps -q "$service" | sort))
        [[ $(wc -w <<<"$new") == 1 ]] || die "$service: expected one new replica, found '$new'"
        if [[ $service == api ]]; then
            ip=$(edge_ip "$new")
            in_rotation() { read -r _ op admin < <(slot_of "$ip") && [[ $op == 2 && $admin == 0 ]]; }
            until_within "$TIMEOUT" "$(name "$new") UP in the proxy's checks" in_rotation
            # Drain the old one at the proxy: new requests go to the others; wait for its in-flight ones.
            ip=$(edge_ip "$old")
            read -r slot _ _ < <(slot_of "$ip") || slot=
            if [[ -n $slot ]]; then
                proxy "set server api/$slot state drain" >/dev/null
                idle() { [[ $(proxy "show stat" | awk -F, -v s="$slot" '$1 == "api" && $2 == s {print $5}') == 0 ]]; }
                until_within 60 "$(name "$old") finishing its requests at the proxy" idle
            fi
        fi
        local old_name
        old_name=$(name "$old")
        docker stop "$old" >/dev/null # SIGTERM, then the service's stop_grace_period
        docker rm "$old" >/dev/null
        if [[ $service == api && -n $slot ]]; then
            # The slot takes the next replica Compose's DNS names, once the proxy has let go of this one.
            gone() { read -r _ op _ < <(slot_of "$ip") || return 0; [[ $op != 2 ]]; }
            until_within 60 "the proxy letting go of $old_name" gone
            proxy "set server api/$slot state ready" >/dev/null
        fi
        replaced=$((replaced + 1))
        if [[ $service == api ]]; then
            say "api: $(name "$new") ($TARGET) up and in the proxy's rotation; $old_name drained at the proxy, stopped and removed"
        else
            say "$service: $(name "$new") ($TARGET) up; $old_name stopped (its running work finished) and removed"
        fi
    done
    REPLACED+=("$service=$replaced")
}
REPLACED=()
roll api
roll worker
on_target up --detach --wait --wait-timeout "$TIMEOUT" --no-deps --no-build scheduler >/dev/null
REPLACED+=("scheduler=1")
say "scheduler recreated on $TARGET"

mapfile -t NOW < <(c ps -q api)
VERSION=$(docker exec "${NOW[0]}" python -c \
    "import json, urllib.request; print(json.load(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=5))['version'])")
say "done: ${REPLACED[*]} replaced, /healthz reports version $VERSION; the proxy untouched"
