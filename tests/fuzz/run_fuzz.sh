#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each for a time
# or an execution budget, keeping the grown corpora in tests/fuzz/corpus-out
# (not committed) and printing executions and corpus size per target.
#   bash tests/fuzz/run_fuzz.sh [SECONDS_PER_TARGET=60] [MAX_EXECUTIONS=0 (no limit)] [TARGETS...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SECS="${1:-60}"; RUNS="${2:-0}"; shift $(( $# > 2 ? 2 : $# )) || true
TARGETS=("$@"); [ ${#TARGETS[@]} -gt 0 ] || TARGETS=(gguf safetensors checkpoint tokenizer_json chat_template encode)
BUILD="$ROOT/build-fuzz"; OUT="$ROOT/tests/fuzz/corpus-out"
# FUZZ_NO_BUILD=1 skips the build (e.g. for a second run in parallel over the same build).
if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
  command -v clang++ >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang; }
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
        -DANYPREC_FUZZ=ON -DANYPREC_BUILD_GUI=OFF -DANYPREC_BUILD_TESTS=OFF -DANYPREC_ENABLE_CUDA=OFF >/dev/null
  cmake --build "$BUILD" -j2 --target fuzz_seeds $(printf 'fuzz_%s ' "${TARGETS[@]}") >/dev/null
fi
[ -d "$OUT/seeds" ] || "$BUILD/tests/fuzz/fuzz_seeds" "$OUT/seeds"
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
for t in "${TARGETS[@]}"; do
  mkdir -p "$OUT/$t" "$OUT/crashes-$t"
  log="$OUT/$t.log"
  # -rss_limit_mb / -malloc_limit_mb: an input that makes us allocate without bound is a finding too.
  extra=()
  [ "$t" = gguf ] && extra=("$ROOT/tests/data/gguf_types")  # one file per tensor type
  "$BUILD/tests/fuzz/fuzz_$t" "$OUT/$t" "$OUT/seeds/$t" "${extra[@]}" -max_total_time="$SECS" -runs="$([ "$RUNS" -gt 0 ] && echo "$RUNS" || echo -1)" \
      -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=262144 -timeout=20 -print_final_stats=1 \
      -artifact_prefix="$OUT/crashes-$t/" >"$log" 2>&1 && rc=0 || rc=$?
  execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
  echo "fuzz_$t: exit $rc, executions ${execs:-?}, corpus $(ls "$OUT/$t" | wc -l) files, crashes $(ls "$OUT/crashes-$t" | wc -l)"
  [ "$rc" -eq 0 ] || { tail -40 "$log"; exit 1; }
done
