#!/usr/bin/env bash
# Builds everything: CMake (wire protocol, HRAS core, hrac-agent, unit
# tests) into build/cmake, then sofw.so through Makefile.kamailio.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cmake -S "$top" -B "$top/build/cmake" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$top/build/cmake" -j"$(nproc)"
make -s -f "$top/Makefile.kamailio"
echo "build.sh: built build/sofw.so and build/cmake/hrac-agent/hrac-agent"
