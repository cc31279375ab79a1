#!/usr/bin/env bash
# Builds SoFW and the load generator, then runs the media benchmark as root:
#   sudo bench/run.sh --calls 500 --seconds 20
# Installs rtpengine-daemon (the reference relay of the third run) when it is
# missing, unless --no-rtpengine is given; Debian may enable its service:
# it is stopped and disabled again, the benchmark starts its own.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/scripts/build.sh"
if [[ " $* " != *" --no-rtpengine "* ]] && [ ! -x /usr/bin/rtpengine ]; then
    apt-get install -y --no-install-recommends rtpengine-daemon
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        systemctl disable --now rtpengine-daemon || true
    fi
fi
exec /usr/bin/python3 "$top/bench/run.py" "$@"
