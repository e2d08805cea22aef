#!/usr/bin/env bash
# The release front end's size: builds the wasm with cargo-leptos' release profile and
# npm's binaryen wasm-opt (Debian's is too old, cargo-leptos' own download fails here), then
# prints the raw and gzip sizes of what a browser loads (wasm, JS glue, CSS).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
# shellcheck source=ensure-binaryen.sh
. "$ROOT/scripts/ensure-binaryen.sh"

SITE="$ROOT/target/bundle-site"
LEPTOS_SITE_ROOT="$SITE" cargo leptos build --release --frontend-only >&2

printf '%-24s %10s %10s\n' file raw gzip
for file in "$SITE"/pkg/*; do
  raw=$(stat -c %s "$file")
  gz=$(gzip -9 -c "$file" | wc -c)
  printf '%-24s %10d %10d\n' "$(basename "$file")" "$raw" "$gz"
done
total_gz=$(cat "$SITE"/pkg/* | gzip -9 -c | wc -c)
echo "bundle (all of pkg/, gzip -9): $total_gz bytes"
