#!/usr/bin/env bash
# Sets everything up (packages, Kamailio source), builds, and runs all
# tests: GoogleTest suites and the end-to-end tests in network namespaces.
# Extra arguments go to ctest (e.g. -L unit, -R e2e_signaling).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/setup.sh"
"$top/scripts/build.sh"
cd "$top/build/cmake"
ctest --output-on-failure "$@"
