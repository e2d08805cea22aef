#!/usr/bin/env bash
# `cargo test --workspace` with every crate's debug logs kept in one file, which must then
# hold no personal data: no identity code and no recipient's street address in any log line
# of any test (RUST_LOG=debug, the noisiest transport crates at info).
set -euo pipefail
target="${CARGO_TARGET_DIR:-target}"
log="$target/test-debug.log"
mkdir -p "$target"
export RUST_LOG="debug,hyper=info,hyper_util=info,h2=info,rustls=info,reqwest=info,tower=info,selectors=info,html5ever=info,swc_ecma_parser=info"
echo "cargo test --workspace (debug logs in $log)"
if ! cargo test --workspace >"$log" 2>&1; then
    grep -aE "^test .* FAILED|panicked at|^failures:|^    [a-z_:]+$|^test result|^error" "$log" | tail -80
    echo "the whole output: $log"
    exit 1
fi
grep -aE "^test result" "$log"
# The check itself finds what it must (a valid code in a line).
if printf 'a line with 150680-9039 in it\n' | python3 scripts/no-personal-data-in-logs.py /dev/stdin >/dev/null; then
    echo "the personal-data check finds nothing: it is broken" >&2
    exit 1
fi
python3 scripts/no-personal-data-in-logs.py "$log"
