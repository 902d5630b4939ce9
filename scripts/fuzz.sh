#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang into build-fuzz and runs
# each for a bounded time on a copy of its seed corpus (the tree is never
# written). Fails if any target crashes, leaks, trips a sanitizer or breaks
# an invariant; the crashing input is kept in the work directory printed.
#   MP_FUZZ_SECONDS   seconds per target (default 20)
#   MP_FUZZ_TARGETS   space-separated subset (default: all)
#   MP_FUZZ_JOBS      build jobs (default: nproc)
#   MP_FUZZ_BUILD_ONLY=1  build the targets, run none
#   MP_FUZZ_EXTRA_TARGETS  more targets to build in the same clang build
#                     (CI's clang check: mepassa-bootstrap mp-bad-peer)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${MP_FUZZ_SECONDS:-20}
jobs=${MP_FUZZ_JOBS:-$(nproc)}

# Input size bounds per target: a little over the largest message the code
# accepts, so the fuzzer also tries the refusal of oversized input.
declare -A max_len=(
  [varint]=16 [multiaddr_bytes]=512 [multiaddr_text]=1024 [peer_id]=256 [public_key]=2048
  [multistream]=2048 [noise_payload]=4096 [noise_responder]=4096 [yamux_frame]=16
  [yamux_session]=16384 [identify]=8192 [kad_handle]=8192 [relay]=4096 [autonat]=4096
  [envelope]=4096 [ipns]=12288 [stored_row]=4096 [tls_certificate]=17408
)
targets=${MP_FUZZ_TARGETS:-$(printf '%s\n' "${!max_len[@]}" | sort | tr '\n' ' ')}

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
# -O1 -g1: the usual libFuzzer trade-off (fast enough; line tables make
# readable stacks); asserts stay on.
cmake -S . -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=None \
  -DCMAKE_CXX_FLAGS="-O1 -g1" -DMP_WERROR=ON -DMP_FUZZ=ON -DMP_BUILD_TESTS=OFF "${launcher[@]}" >/dev/null
build_targets=()
for t in $targets; do build_targets+=("${t}_fuzz"); done
read -r -a extra_targets <<<"${MP_FUZZ_EXTRA_TARGETS:-}"
cmake --build build-fuzz -j"$jobs" --target "${build_targets[@]}" ${extra_targets[@]+"${extra_targets[@]}"}
if [ "${MP_FUZZ_BUILD_ONLY:-0}" = 1 ]; then
  echo "fuzz: built ${#build_targets[@]} targets"
  exit 0
fi

work=$(mktemp -d /tmp/mp-fuzz.XXXXXX)
failed=()
for t in $targets; do
  corpus="$work/$t/corpus"
  mkdir -p "$corpus" "$work/$t/artifacts"
  [ -d "tests/fuzz/corpus/$t" ] && cp tests/fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
  log="$work/$t/fuzz.log"
  if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
     "build-fuzz/tests/fuzz/${t}_fuzz" "$corpus" -max_total_time="$seconds" -rss_limit_mb=2048 \
       -max_len="${max_len[$t]}" -timeout=10 -print_final_stats=1 \
       -artifact_prefix="$work/$t/artifacts/" >"$log" 2>&1; then
    stats=$(grep -E '^#[0-9]+.*DONE' "$log" | tail -n 1 | sed 's/^#\([0-9]*\).*cov: \([0-9]*\) ft: \([0-9]*\).*/runs \1, cov \2, ft \3/')
    echo "fuzz $t: ok ($stats)"
  else
    echo "fuzz $t: FAILED (log: $log)"
    grep -E 'ERROR|runtime error|invariant|unexpected exception|Test unit written' "$log" | head -n 5 || true
    failed+=("$t")
  fi
done
if ((${#failed[@]})); then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]} (inputs in $work/<target>/artifacts)"
  exit 1
fi
echo "fuzz: ${#build_targets[@]} targets passed"
rm -rf "$work"
