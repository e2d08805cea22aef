#!/usr/bin/env bash
# `make release`: what an operator deploys, from one build — the optimised server binary and
# the release site (wasm-opt from npm's binaryen; Debian's is too old) — in dist/tiedoksi/,
# then the browser tests that prove it hydrates and shows no console errors, run against
# that binary and site rather than the debug build.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
DIST="$ROOT/dist/tiedoksi"
# shellcheck source=ensure-binaryen.sh
. "$ROOT/scripts/ensure-binaryen.sh"

echo "==> release site (wasm-release profile, wasm-opt)" >&2
rm -rf "$TARGET/release-site"
LEPTOS_SITE_ROOT="$TARGET/release-site" cargo leptos build --release --frontend-only >&2
echo "==> release server" >&2
cargo build --release -p server --bins >&2

rm -rf "$DIST"
mkdir -p "$DIST/bin"
# Stripped: the symbol table is half of the binary (the unstripped one stays in the target dir).
for binary in tiedoksi suomifi-sim; do strip -o "$DIST/bin/$binary" "$TARGET/release/$binary"; done
cp -r "$TARGET/release-site" "$DIST/site"
cp packaging/tiedoksi.service packaging/tiedoksi.env "$DIST/"
( cd "$DIST" && find . -type f ! -name SHA256SUMS -print0 | sort -z | xargs -0 sha256sum >SHA256SUMS )
printf 'release %s\n' "$DIST"
printf 'release_binary_bytes %s\n' "$(stat -c %s "$DIST/bin/tiedoksi")"
printf 'release_site_gzip_bytes %s\n' "$(cat "$DIST"/site/pkg/* | gzip -9 -c | wc -c)"

echo "==> browser tests against the release build" >&2
E2E_BIN="$DIST/bin/tiedoksi" E2E_SITE="$DIST/site" "$ROOT/scripts/e2e.sh" tests/skeleton.spec.ts
