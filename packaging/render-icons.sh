#!/usr/bin/env bash
# Renders the hand-drawn SVG icon into the PNG sizes the hicolor theme wants
# and writes them under resources/icons/hicolor/<N>x<N>/apps/. The PNGs are
# committed, so building the package needs no SVG renderer; run this again
# after editing an SVG. Needs rsvg-convert (Debian package librsvg2-bin).
# 16 px uses its own, simpler drawing: the full icon's eight planes blur there.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ICONS="$ROOT/resources/icons"
ID=io.github.anyprec.Studio
command -v rsvg-convert >/dev/null || { echo "render-icons.sh: needs rsvg-convert (apt install librsvg2-bin)" >&2; exit 1; }
for n in 16 32 48 64 128 256; do
  src="$ICONS/$ID.svg"
  [ "$n" -eq 16 ] && src="$ICONS/$ID-16.svg"
  out="$ICONS/hicolor/${n}x${n}/apps/$ID.png"
  mkdir -p "$(dirname "$out")"
  rsvg-convert -w "$n" -h "$n" "$src" -o "$out"
  echo "$out"
done
