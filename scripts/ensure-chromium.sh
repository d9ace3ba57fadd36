#!/usr/bin/env bash
# Make sure a headless Chromium exists (the monitoring page's browser test drives it);
# install Debian's package if not. Idempotent and silent when it is already there.
set -euo pipefail

command -v chromium >/dev/null && exit 0

if ! command -v apt-get >/dev/null; then
    echo "Error: chromium not found and apt-get is unavailable; install Chromium yourself" >&2
    exit 1
fi
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then SUDO=(sudo -n); else
        echo "Error: chromium not found; run as root: apt-get install -y chromium" >&2
        exit 1
    fi
fi
echo "installing Chromium (Debian package chromium) ..."
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium >/dev/null
