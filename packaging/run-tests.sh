#!/usr/bin/env bash
# Every test: the build made by `packaging/setup.sh --build --checkpoint`
# under CTest, then the non-GUI tests again in a sanitizer build (ASan +
# UBSan, every report fatal) in ./build-sanitize. The real-model test and
# the packaging test are skipped there: they test the same code as in the
# plain run, slower, and the package test needs the GUI build.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
say() { echo "[tests] $*"; }

say "plain build: ctest"
ANYPREC_REQUIRE_DATA=1 ctest --test-dir build --output-on-failure -j2

say "sanitizer build (address,undefined) in build-sanitize"
cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DANYPREC_SANITIZE=address,undefined \
      -DANYPREC_BUILD_GUI=OFF -DANYPREC_ENABLE_CUDA=OFF >/dev/null
cmake --build build-sanitize -j2
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
say "sanitizer build: ctest (non-GUI tests)"
ctest --test-dir build-sanitize --output-on-failure -j2 -E '^(test_smollm|test_package)$'
