#!/usr/bin/env bash
# Builds the fuzz tree (build/fuzz: clang, libFuzzer, ASan, UBSan) and runs
# fuzz targets long, one at a time, each over its seed corpus plus a work
# corpus that keeps what earlier runs found. Prints per target the
# executions reached, the coverage and the crashes (saved in the work
# directory's artifacts/). Installs clang and libFuzzer itself when they
# are missing (Debian 12). See fuzz/README.md.
#
#   scripts/fuzz.sh                      every target, 10 minutes each
#   scripts/fuzz.sh -t 60 sdp frame      these two, 60 s each
#   scripts/fuzz.sh -r 100000 auth       100000 executions
#   scripts/fuzz.sh -m                   also merge new inputs into fuzz/corpus
#   scripts/fuzz.sh -l                   list the targets
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

seconds=600
runs=""
merge_into_repo=0
list=0
work="$top/build/fuzz-work"
usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; echo "options: -t SECONDS  -r RUNS  -w WORKDIR  -m  -l"; }
while getopts "t:r:w:mlh" opt; do
  case $opt in
    t) seconds=$OPTARG ;;
    r) runs=$OPTARG ;;
    w) work=$OPTARG ;;
    m) merge_into_repo=1 ;;
    l) list=1 ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))

# The toolchain: clang, libFuzzer and the sanitizer runtimes, the symbolizer.
packages=(clang libclang-rt-14-dev llvm-14)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "fuzz.sh: needs ${missing[*]}; run as root or install them" >&2; exit 1; }
  echo "fuzz.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ -x /usr/lib/llvm-14/bin/llvm-symbolizer ] && export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer

fuzz_build="$top/build/fuzz"
cmake -S "$top" -B "$fuzz_build" -DSOFW_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$fuzz_build" -j"$(nproc)" >/dev/null

mapfile -t all < "$fuzz_build/fuzz-targets.txt"
if [ $list = 1 ]; then printf '%s\n' "${all[@]}"; exit 0; fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for t in "${targets[@]}"; do
  printf '%s\n' "${all[@]}" | grep -qx "$t" || { echo "fuzz.sh: no target '$t' (-l lists them)" >&2; exit 2; }
done

limit=(-max_total_time="$seconds")
[ -n "$runs" ] && limit=(-runs="$runs")
mkdir -p "$work/artifacts" "$work/logs"
summary=()
failed=0
for t in "${targets[@]}"; do
  bin="$fuzz_build/fuzz/${t}_fuzz"
  seeds="$top/fuzz/corpus/$t"
  mkdir -p "$work/$t"
  args=("${limit[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/artifacts/$t-")
  [ -f "$top/fuzz/dict/$t.dict" ] && args+=(-dict="$top/fuzz/dict/$t.dict")
  log="$work/logs/$t.log"
  before=$(ls "$work/artifacts" | grep -c "^$t-" || true)
  echo "fuzz.sh: $t (${runs:+$runs runs}${runs:-$seconds s}), log $log"
  rc=0
  (cd "$work" && "$bin" "${args[@]}" "$work/$t" "$seeds") >"$log" 2>&1 || rc=$?
  after=$(ls "$work/artifacts" | grep -c "^$t-" || true)
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
  crashes=$((after - before))
  [ $rc = 0 ] || failed=1
  summary+=("$(printf '%-16s %12s executions  %-22s crashes %d  exit %d' "$t" "${execs:-?}" "${cov:-}" "$crashes" "$rc")")
  if [ $rc != 0 ]; then
    grep -E 'ERROR|invariant broken|SUMMARY|Test unit written' "$log" | head -5 | sed 's/^/    /'
  fi
  if [ $merge_into_repo = 1 ]; then
    # Only inputs that add coverage to the seeds go into the repository.
    (cd "$work" && "$bin" -merge=1 "$seeds" "$work/$t") >>"$log" 2>&1 || true
  fi
done
echo
printf '%s\n' "${summary[@]}"
exit $failed
