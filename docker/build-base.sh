#!/usr/bin/env bash
# Builds a Debian bookworm base image from Debian's own packages (debootstrap + docker import),
# for machines that cannot pull from an image registry. Cached: an image already present is kept.
#
#   bash docker/build-base.sh [IMAGE]        # default IMAGE: registry-ci/debian:bookworm
#
# BASE_CACHE_DIR (default /var/cache/registry-ci) keeps the root file system tarball, so a machine
# whose Docker images were pruned imports it again without debootstrapping (a week at most).
set -euo pipefail

IMAGE=${1:-${BASE_IMAGE:-registry-ci/debian:bookworm}}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
CACHE_DIR=${BASE_CACHE_DIR:-/var/cache/registry-ci}
TARBALL=$CACHE_DIR/debian-bookworm-minbase.tar

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "base image $IMAGE: present"
    exit 0
fi

mkdir -p "$CACHE_DIR"
if [[ -f $TARBALL ]] && [[ -n $(find "$TARBALL" -mtime -7) ]]; then
    echo "base image $IMAGE: importing the cached root file system $TARBALL"
else
    command -v debootstrap >/dev/null || {
        echo "debootstrap is missing: apt-get install -y debootstrap" >&2
        exit 1
    }
    ROOTFS=$(mktemp -d)
    trap 'rm -rf "$ROOTFS"' EXIT
    echo "base image $IMAGE: debootstrap --variant=minbase bookworm ($MIRROR)"
    debootstrap --variant=minbase bookworm "$ROOTFS" "$MIRROR" >"$CACHE_DIR/debootstrap.log" 2>&1 || {
        tail -n 30 "$CACHE_DIR/debootstrap.log" >&2
        exit 1
    }
    cat >"$ROOTFS/etc/apt/sources.list" <<SOURCES
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
SOURCES
    # Small images: no documentation, no translations, no recommends, no apt caches left behind.
    cat >"$ROOTFS/etc/apt/apt.conf.d/90registry-ci" <<'APT'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
Acquire::Check-Valid-Until "false";
APT
    cat >"$ROOTFS/etc/dpkg/dpkg.cfg.d/90registry-ci" <<'DPKG'
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
DPKG
    # Packages installed in an image do not start their services (there is no init).
    printf '#!/bin/sh\nexit 101\n' >"$ROOTFS/usr/sbin/policy-rc.d"
    chmod 755 "$ROOTFS/usr/sbin/policy-rc.d"
    rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
    tar -C "$ROOTFS" -c --numeric-owner -f "$TARBALL.tmp" .
    mv "$TARBALL.tmp" "$TARBALL"
fi
# What pins it, as labels (docker/ci-stack.sh prints them): the suite, the mirror (a
# snapshot.debian.org address pins every package: DEBIAN_MIRROR, docker/RUNBOOK.md) and the day
# the root file system was made.
docker import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' \
    --change "LABEL org.debian.suite=bookworm org.debian.mirror=$MIRROR org.debian.debootstrapped=$(date -u -r "$TARBALL" +%Y-%m-%d)" \
    "$TARBALL" "$IMAGE" >/dev/null
echo "base image $IMAGE: $(docker image inspect -f '{{.Size}}' "$IMAGE" | numfmt --to=iec)"
