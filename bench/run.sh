#!/usr/bin/env bash
# Builds SoFW and the load generator, then runs the media benchmark as root:
#   sudo bench/run.sh --calls 500 --seconds 20
# Installs the reference relays when they are missing: rtpengine-daemon
# (RTPENGINE; not with --no-rtpengine) and coturn (COTURN, TURN over TCP;
# not with --no-coturn). Debian may enable their services: they are stopped
# and disabled again, the benchmark starts its own in its namespaces.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/scripts/build.sh"
install_relay() {  # package, binary
    [ -x "$2" ] && return 0
    apt-get install -y --no-install-recommends "$1"
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        systemctl disable --now "$1" || true
    fi
}
if [[ " $* " != *" --no-rtpengine "* ]]; then
    install_relay rtpengine-daemon /usr/bin/rtpengine
fi
if [[ " $* " != *" --no-coturn "* ]]; then
    install_relay coturn /usr/bin/turnserver
fi
exec /usr/bin/python3 "$top/bench/run.py" "$@"
