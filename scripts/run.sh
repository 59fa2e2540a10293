#!/usr/bin/env bash
# `make run`: starts the daemon (omsd, with the demo reference data, on the store var/oms) and
# the simulated venue (oms-venue-sim) beside it, and stops both on Ctrl-C or SIGTERM (SIGTERM to
# each, by pid; exit 0 after a clean stop). If either stops by itself, the other is stopped too
# and the script exits with status 1.
#
#   scripts/run.sh [BIN_DIR]            BIN_DIR defaults to build/bin
#   OMS_DATA_DIR   the store            (default var/oms, under the project folder)
#   OMS_CMD_EP     command endpoint     (default tcp://127.0.0.1:7701)
#   OMS_PUB_EP     event endpoint       (default tcp://127.0.0.1:7702)
#   OMS_QUERY_EP   query endpoint       (default tcp://127.0.0.1:7703)
#   OMSD_ARGS      more flags for omsd (e.g. "--durability async")
#   SIM_ARGS       more flags for oms-venue-sim (e.g. "--slices 5 --fill-delay-ms 500")
set -uo pipefail

bin=${1:-build/bin}
data_dir=${OMS_DATA_DIR:-var/oms}
cmd_ep=${OMS_CMD_EP:-tcp://127.0.0.1:7701}
pub_ep=${OMS_PUB_EP:-tcp://127.0.0.1:7702}
query_ep=${OMS_QUERY_EP:-tcp://127.0.0.1:7703}
eps=(--cmd-endpoint "$cmd_ep" --pub-endpoint "$pub_ep" --query-endpoint "$query_ep")

for exe in omsd oms-venue-sim omsctl; do
  [ -x "$bin/$exe" ] || { echo "run: $bin/$exe is missing: build first (make build)" >&2; exit 1; }
done

omsd_pid=0
sim_pid=0
stopping=0

# Stops the children we started, by pid: SIGTERM, then SIGKILL after 10 s.
stop_all() {
  stopping=1
  for pid in $sim_pid $omsd_pid; do
    [ "$pid" -gt 0 ] && kill -TERM "$pid" 2>/dev/null
  done
  for pid in $sim_pid $omsd_pid; do
    [ "$pid" -gt 0 ] || continue
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
}
trap 'stop_all; exit 0' INT TERM

# shellcheck disable=SC2086
"$bin/omsd" "${eps[@]}" --data-dir "$data_dir" --demo-data ${OMSD_ARGS:-} &
omsd_pid=$!

# Ready when it answers a stats query (at most ~15 s).
ready=0
for _ in $(seq 1 75); do
  if "$bin/omsctl" "${eps[@]}" --timeout-ms 200 --retries 0 stats >/dev/null 2>&1; then
    ready=1
    break
  fi
  kill -0 "$omsd_pid" 2>/dev/null || break
done
if [ "$ready" -ne 1 ]; then
  echo "run: omsd did not start (see its messages above)" >&2
  stop_all
  exit 1
fi

# shellcheck disable=SC2086
"$bin/oms-venue-sim" "${eps[@]}" ${SIM_ARGS:-} &
sim_pid=$!

echo "run: omsd (pid $omsd_pid, store $data_dir) and oms-venue-sim (pid $sim_pid) are up;" \
     "try: $bin/omsctl tail   (Ctrl-C stops both)" >&2

# Until one of them stops by itself, or a signal arrives.
wait -n "$omsd_pid" "$sim_pid"
[ "$stopping" -eq 1 ] && exit 0
echo "run: a process stopped by itself; stopping the other" >&2
stop_all
exit 1
