#!/usr/bin/env bash
# Sets everything up, builds, and runs the demo: phones in a company LAN
# behind a strict firewall call out and get called through SoFW.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh"
"$top/scripts/build.sh"
export SOFW_SOURCE_DIR="$top" SOFW_BUILD_DIR="$top/build/cmake"
exec /usr/bin/python3 "$top/demo/demo.py"
