#!/usr/bin/env bash
# Make sure a Docker engine answers and `docker compose` (v2) works; install and start what is
# missing. Idempotent and quiet when everything is there.
#   - the engine: Debian's docker.io (dockerd, containerd, runc), started in the background when
#     no engine answers (no systemd needed), with the storage driver dockerd picks (overlay2 where
#     the kernel has overlayfs, else vfs; MLWB_DOCKER_STORAGE_DRIVER forces one).
#     Its log: $MLWB_DOCKERD_LOG (default /var/log/mlwb-dockerd.log).
#   - compose v2: Debian bookworm's docker-compose is 1.29 (too old for compose.yaml's `name:`);
#     trixie's package is a static Go binary (libc only), installed as a CLI plugin.
# An engine that already runs (Docker Desktop, a system service) is used as it is.
set -euo pipefail

DOCKERD_LOG=${MLWB_DOCKERD_LOG:-/var/log/mlwb-dockerd.log}
DRIVER=${MLWB_DOCKER_STORAGE_DRIVER:-}
PLUGIN_DIR=/usr/libexec/docker/cli-plugins

engine_answers() { docker info >/dev/null 2>&1; }
compose_v2() { docker compose version >/dev/null 2>&1; }

if engine_answers && compose_v2; then exit 0; fi

need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "Error: $1; run this script as root (or install Docker and docker compose v2 yourself)" >&2
        exit 1
    fi
    command -v apt-get >/dev/null || {
        echo "Error: $1 and apt-get is unavailable; install Docker and docker compose v2 yourself" >&2
        exit 1
    }
}

export DEBIAN_FRONTEND=noninteractive
apt_updated=0
apt_update() { [ "$apt_updated" = 1 ] || { apt-get update -qq; apt_updated=1; }; }

if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
    need_root "no Docker engine installed"
    echo "installing the Docker engine (Debian package docker.io) ..."
    apt_update
    # policy-rc.d 101: the package must not try to start a system service; we start dockerd below.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt-get install -y -qq --no-install-recommends docker.io iptables ca-certificates >/dev/null
fi

if ! compose_v2; then
    need_root "docker compose v2 is missing"
    echo "installing docker compose v2 (Debian trixie's docker-compose, as a CLI plugin) ..."
    tmp=$(mktemp -d)
    mkdir -p "$tmp/lists/partial" "$tmp/archives/partial"
    # A private sources list and state: the system's apt sources stay as they are.
    echo "deb http://deb.debian.org/debian trixie main" > "$tmp/trixie.list"
    apt_opts=(-o "Dir::Etc::SourceList=$tmp/trixie.list" -o "Dir::Etc::SourceParts=-"
              -o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache::Archives=$tmp/archives"
              -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=" -o "APT::Get::List-Cleanup=0"
              -o "APT::Sandbox::User=root")
    apt-get "${apt_opts[@]}" update -qq
    (cd "$tmp" && apt-get "${apt_opts[@]}" download docker-compose >/dev/null)
    dpkg-deb -x "$tmp"/docker-compose_*.deb "$tmp/root"
    mkdir -p "$PLUGIN_DIR"
    install -m 0755 "$tmp/root/usr/libexec/docker/cli-plugins/docker-compose" "$PLUGIN_DIR/docker-compose"
    rm -rf "$tmp"
    compose_v2 || { echo "Error: docker compose v2 does not run after installing it to $PLUGIN_DIR" >&2; exit 1; }
fi

if ! engine_answers; then
    need_root "no Docker engine answers on $(docker context inspect -f '{{.Endpoints.docker.Host}}' 2>/dev/null || echo /var/run/docker.sock)"
    # A dockerd that gives up on its containerd (it waits for it a short while, which a
    # machine busy installing packages can exceed: "timeout waiting for containerd to start")
    # exits; it is started once more.
    for attempt in 1 2; do
        echo "starting dockerd (log: $DOCKERD_LOG) ..."
        # setsid + nohup: the engine outlives this script and the make that called it.
        setsid nohup dockerd ${DRIVER:+--storage-driver="$DRIVER"} >>"$DOCKERD_LOG" 2>&1 < /dev/null &
        dockerd_pid=$!
        for _ in $(seq 1 60); do
            engine_answers && break 2
            kill -0 "$dockerd_pid" 2>/dev/null || { echo "dockerd exited (attempt $attempt)"; break; }
            sleep 1
        done
    done
    engine_answers || { echo "Error: dockerd did not answer within 60 s; see $DOCKERD_LOG" >&2; exit 1; }
fi
echo "docker engine $(docker version -f '{{.Server.Version}}') ($(docker info -f '{{.Driver}}')), compose $(docker compose version --short)"
