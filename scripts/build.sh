#!/usr/bin/env bash
# Builds everything: CMake (wire protocol, HRAS core, hrac-agent, unit
# tests) into build/cmake, then sofw.so through Makefile.kamailio.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
# SOFW_FUZZ_TESTS=ON: the fuzz tree (clang, from setup.sh) is part of
# everything; its brief runs are tests like any other (fuzz/README.md).
cmake -S "$top" -B "$top/build/cmake" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSOFW_FUZZ_TESTS=ON >/dev/null
cmake --build "$top/build/cmake" -j"$(nproc)"
make -s -f "$top/Makefile.kamailio"
echo "build.sh: built build/sofw.so and build/cmake/hrac-agent/hrac-agent"
