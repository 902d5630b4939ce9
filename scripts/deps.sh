#!/usr/bin/env bash
# Installs what building, running and testing mepassa-bootstrap needs on
# Debian 12: the C++ toolchain and libraries from Debian's packages, and the
# js-libp2p interop suite from npm (pinned by tests/interop/package-lock.json).
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config clang
  libasio-dev libssl-dev libsodium-dev libprotobuf-dev protobuf-compiler libsqlite3-dev sqlite3
  libspdlog-dev libfmt-dev libcli11-dev nlohmann-json3-dev libhttp-parser-dev libgnutls28-dev libngtcp2-crypto-gnutls-dev
  libpqxx-dev postgresql
  libgtest-dev libgmock-dev libbenchmark-dev
  libngtcp2-dev
  libclang-rt-14-dev
  nodejs npm curl procps iproute2 nftables dpkg-dev file  # ip + nft: test/holepunch_netns builds NATs
  prometheus
)
# The status-page test drives headless Chromium; running the node does not
# need it (scripts/run.sh sets MP_SKIP_NPM=1: no test suite, no browser).
if [ "${MP_SKIP_NPM:-0}" != 1 ]; then
  packages+=(chromium chromium-driver)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# nodejs may come from elsewhere than Debian (e.g. a newer build); accept any node >= 20.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -r -a missing <<<"${missing[*]}"
if ((${#missing[@]})); then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  echo "deps: installing ${missing[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "${MP_SKIP_NPM:-0}" != 1 ]; then
  lock=tests/interop/package-lock.json
  stamp=tests/interop/node_modules/.mp-lock-stamp
  if [ ! -f "$stamp" ] || ! cmp -s "$lock" "$stamp"; then
    echo "deps: installing the js-libp2p interop suite (npm ci)"
    (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)
    cp "$lock" "$stamp"
  fi
fi
