#!/usr/bin/env bash
# Builds everything and runs every test:
#  1. release build with warnings as errors (GCC), unit tests under CTest;
#  2. ASan+UBSan build of the unit tests, run under CTest;
#  3. interop tests against js-libp2p (tests/interop, node's test runner),
#     driving the real binary over loopback;
#  4. compile check with clang (skip with MP_SKIP_CLANG=1).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)

echo "== build (gcc, -Werror)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMP_WERROR=ON -DMP_BUILD_BENCH=ON >/dev/null
cmake --build build -j"$jobs"

echo "== unit tests"
(cd build && ctest --output-on-failure -j"$jobs" --timeout 300)

echo "== unit tests under ASan+UBSan"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMP_WERROR=ON -DMP_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
   ctest --output-on-failure -j"$jobs" --timeout 600)

echo "== interop tests against js-libp2p"
(cd tests/interop && MP_BINARY="$PWD/../../build/mepassa-bootstrap" npm test)

if [ "${MP_SKIP_CLANG:-0}" != 1 ]; then
  echo "== compile check with clang"
  cmake -S . -B build-clang -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DMP_WERROR=ON >/dev/null
  cmake --build build-clang -j"$jobs"
fi
echo "== all tests passed"
