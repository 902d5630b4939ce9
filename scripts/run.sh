#!/usr/bin/env bash
# Builds mepassa-bootstrap and starts it with defaults: libp2p on port 4001
# (BOOTSTRAP_PORT), health and metrics on 8000 (HEALTH_PORT), state (identity
# key and the SQLite peer store) under ./data (DATA_DIR). Extra arguments are
# passed to the node, e.g. `scripts/run.sh --help`.
set -euo pipefail
cd "$(dirname "$0")/.."
MP_SKIP_NPM=1 scripts/deps.sh
# Same build directory and settings as scripts/test.sh, so one does not
# rebuild what the other built (a new directory defaults to RelWithDebInfo).
[ -f build/CMakeCache.txt ] || cmake -S . -B build -G Ninja >/dev/null
cmake --build build --target mepassa-bootstrap
exec build/mepassa-bootstrap "$@"
