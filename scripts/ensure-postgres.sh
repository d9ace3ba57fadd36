#!/usr/bin/env bash
# Make sure PostgreSQL's server binaries (initdb, pg_ctl) exist; install Debian's package if not.
# Idempotent and silent when they are already there. The tests and `mlwb up` start their own
# clusters from these binaries; nothing here starts or enables a system service.
set -euo pipefail

have_binaries() {
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null
}

have_binaries && exit 0

if ! command -v apt-get >/dev/null; then
    echo "Error: PostgreSQL server binaries not found and apt-get is unavailable; install PostgreSQL (initdb, pg_ctl) yourself" >&2
    exit 1
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then SUDO=(sudo -n); else
        echo "Error: PostgreSQL server binaries not found; run as root: apt-get install -y postgresql" >&2
        exit 1
    fi
fi
echo "installing PostgreSQL (Debian package postgresql) ..."
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
# policy-rc.d 101: do not start the system cluster the package would create; we run our own.
if [ ! -e /usr/sbin/policy-rc.d ] && [ "$(id -u)" -eq 0 ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends postgresql >/dev/null
have_binaries || { echo "Error: installing postgresql did not provide initdb" >&2; exit 1; }
echo "PostgreSQL installed: $(compgen -G '/usr/lib/postgresql/*/bin' | tail -n1)"
