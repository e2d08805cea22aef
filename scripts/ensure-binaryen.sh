#!/usr/bin/env bash
# Sourced: puts npm's binaryen (wasm-opt) first on PATH, installing it into .tools when missing.
# Debian's binaryen is too old for the release wasm, and cargo-leptos' own download fails here.
BINARYEN_VERSION="132.0.0"
TOOLS="$ROOT/.tools"
if [ ! -x "$TOOLS/node_modules/.bin/wasm-opt" ]; then
  echo "==> installing binaryen $BINARYEN_VERSION (npm) into .tools" >&2
  mkdir -p "$TOOLS"
  (cd "$TOOLS" && npm install --no-audit --no-fund --silent "binaryen@$BINARYEN_VERSION" >/dev/null)
fi
export PATH="$TOOLS/node_modules/.bin:$PATH"
