#!/usr/bin/env bash
# Builds mepassa-bootstrap and starts it with defaults: libp2p on port 4001
# (BOOTSTRAP_PORT), health and metrics on 8000 (HEALTH_PORT), state (identity
# key and the SQLite peer store) under ./data (DATA_DIR). Extra arguments are
# passed to the node, e.g. `scripts/run.sh --help`.
set -euo pipefail
cd "$(dirname "$0")/.."
MP_SKIP_NPM=1 scripts/deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DMP_BUILD_TESTS=OFF >/dev/null
cmake --build build --target mepassa-bootstrap
exec build/mepassa-bootstrap "$@"
