#!/usr/bin/env bash
# Builds everything and runs every test:
#  1. release build with warnings as errors (GCC), unit tests under CTest;
#  2. interop tests against js-libp2p (tests/interop, node's test runner),
#     driving the real binary over loopback, while the ASan+UBSan build and
#     the clang build (the fuzz targets and, as the clang compile check, the
#     node and mp-bad-peer; skip the check with MP_SKIP_CLANG=1) build at
#     nice 19 beside them;
#  3. the .deb, installed with dpkg -i;
#  4. the unit tests again under ASan+UBSan;
#  5. libFuzzer targets, each for a few seconds (scripts/fuzz.sh; skip with
#     MP_SKIP_FUZZ=1, MP_FUZZ_SECONDS sets the time per target).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)
# Each stage line says when it began, so a slow CI run shows where the time went.
stage() { echo "== $1 (at $((SECONDS / 60))m$((SECONDS % 60))s)"; }

stage "build (gcc, -Werror)"
# -g1: line tables (stack traces, perf) without full debug info, which
# costs a quarter of the compile time.
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMP_WERROR=ON -DMP_BUILD_BENCH=ON \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build build -j"$jobs"

stage "unit tests"
log_dir=$(mktemp -d)
(cd build && ctest --output-on-failure -j"$jobs" --timeout 300) | tee "$log_dir/unit.log"

# The other builds (ASan+UBSan, the clang compile check, the fuzz targets)
# run at the lowest priority while the interop tests run: those mostly wait
# on sockets and timers, and a nice-19 build takes only the CPU they leave
# idle. Their tests run once the interop tests are done.
background_builds() {
  renice -n 19 -p "$BASHPID" >/dev/null
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g1" \
    -DMP_WERROR=ON -DMP_SANITIZE=ON >/dev/null
  cmake --build build-asan -j"$jobs"
  # The clang check of the product (every library, the node, the bad peer)
  # is built in the fuzz build (clang, -Werror, sanitizers): one clang build
  # instead of two. GCC and ASan build the tests.
  clang_targets=""
  [ "${MP_SKIP_CLANG:-0}" != 1 ] && clang_targets="mepassa-bootstrap mp-bad-peer"
  if [ "${MP_SKIP_FUZZ:-0}" != 1 ]; then
    MP_FUZZ_BUILD_ONLY=1 MP_FUZZ_JOBS=$jobs MP_FUZZ_EXTRA_TARGETS="$clang_targets" scripts/fuzz.sh
  elif [ -n "$clang_targets" ]; then
    cmake -S . -B build-clang -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DMP_WERROR=ON \
      -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O0 -g0" >/dev/null
    # shellcheck disable=SC2086
    cmake --build build-clang -j"$jobs" --target $clang_targets
  fi
}
background_builds >"$log_dir/builds.log" 2>&1 &
builds_pid=$!
trap 'kill "$builds_pid" 2>/dev/null || true' EXIT

stage "interop tests against js-libp2p"
(cd tests/interop && MP_BINARY="$PWD/../../build/mepassa-bootstrap" \
   MP_BAD_PEER="$PWD/../../build/tests/tools/mp-bad-peer" npm test) | tee "$log_dir/interop.log"

stage ".deb package: build, install with dpkg -i, run the installed binary"
(cd build && cpack -G DEB >/dev/null)
deb=$(ls build/mepassa-bootstrap_*.deb | head -n 1)
if [ "$(id -u)" -eq 0 ] && [ "${MP_SKIP_DEB_INSTALL:-0}" != 1 ]; then
  dpkg -i "$deb" >/dev/null
  installed=$(/usr/bin/mepassa-bootstrap --version)
  echo "installed: $installed"
  [ "$installed" = "mepassa-bootstrap $(sed -n 's/^project(mepassa-bootstrap VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)" ]
else
  echo "built $deb (not installed: needs root)"
fi

stage "ASan+UBSan, clang and fuzz builds (begun with the interop tests)"
if ! wait "$builds_pid"; then
  tail -n 60 "$log_dir/builds.log"
  echo "builds failed (log above)"
  exit 1
fi
grep -E '^fuzz: built' "$log_dir/builds.log" || true

stage "unit tests under ASan+UBSan"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions="$PWD/../tests/lsan.supp" UBSAN_OPTIONS=print_stacktrace=1 \
   ctest --output-on-failure -j"$jobs" --timeout 600) | tee "$log_dir/asan.log"

fuzz=0
if [ "${MP_SKIP_FUZZ:-0}" != 1 ]; then
  # 3 s per target in CI: the seed corpora replayed and a short search
  # (under a minute for the 18 targets, built above); long runs by hand.
  fuzz_seconds=${MP_FUZZ_SECONDS:-3}
  stage "fuzzing (each target $fuzz_seconds s)"
  MP_FUZZ_SECONDS=$fuzz_seconds MP_FUZZ_JOBS=$jobs scripts/fuzz.sh | tee "$log_dir/fuzz.log"
  fuzz=$(sed -n 's/^fuzz: \([0-9]*\) targets passed$/\1/p' "$log_dir/fuzz.log")
fi
# One closing line for every suite together.
unit=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\2/p' "$log_dir/unit.log")
asan=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\2/p' "$log_dir/asan.log")
interop=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$log_dir/interop.log")
echo "== all tests passed (unit $unit, unit under sanitizers $asan, interop $interop, fuzz targets $fuzz)"
echo "total: $((unit + asan + interop + fuzz)) passed, 0 failed, in $((SECONDS / 60))m$((SECONDS % 60))s"
