#!/bin/sh
# Container entrypoint for mepassa-bootstrap.
# The Rust node's image ran as root, so data volumes it created belong to
# root. When started as root, hand DATA_DIR to the unprivileged `mepassa`
# user, then run the node as that user with no capabilities. When started
# with `--user`, run the node directly.
set -eu

bin=/usr/local/bin/mepassa-bootstrap

if [ "$(id -u)" = "0" ]; then
    data="${DATA_DIR:-/app/data}"
    mkdir -p "$data"
    find "$data" ! -user mepassa -exec chown mepassa:mepassa {} +
    exec setpriv --reuid=mepassa --regid=mepassa --init-groups \
        --inh-caps=-all --bounding-set=-all --no-new-privs -- "$bin" "$@"
fi

exec "$bin" "$@"
