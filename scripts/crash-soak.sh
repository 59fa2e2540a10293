#!/usr/bin/env bash
# The crash soak, long: builds, then SIGKILLs omsd at random moments under load from retrying
# clients for the given number of cycles (default 200), and checks that every replied command
# is in the log exactly once, no command appears twice, the hash chain verifies and the stored
# projections equal a rebuild. Prints one verdict line; exit 0 on PASS.
#   scripts/crash-soak.sh [CYCLES] [extra oms-bench soak flags, e.g. --clients 8 --seed 42]
set -euo pipefail
cd "$(dirname "$0")/.."
cycles=${1:-200}
shift || true
make build >/dev/null
exec build/bin/oms-bench soak --cycles "$cycles" "$@"
