#!/usr/bin/env bash
# Runs every benchmark of docs/PERFORMANCE.md one after the other (never two at once: they
# would measure each other) and keeps each one's readable table under OUT (default
# var/bench/<UTC time>); with JSON=1, each one's JSON object instead. About 10 minutes on the
# reference machine (2 vCPU).
#   scripts/bench-all.sh [OUT]        JSON=1 scripts/bench-all.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-var/bench/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
make build >/dev/null
b=build/bin/oms-bench
{
  echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)," \
       "$(free -g | awk '/Mem:/{print $2}') GiB, $(uname -r)"
  echo "commit:  $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
} | tee "$out/machine.txt"
run() { # name, then the benchmark's arguments
  local name=$1; shift
  if [ "${JSON:-0}" = 1 ]; then
    "$b" "$@" --json | tee "$out/$name.json"
  else
    echo "== oms-bench $*" | tee "$out/$name.txt"
    "$b" "$@" | tee -a "$out/$name.txt"
  fi
}
run log log --rounds 3
run engine engine
run replay replay
run e2e e2e --seconds 5
run restart restart --orders 10000,100000
echo "results in $out"
