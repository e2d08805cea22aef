#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer, through bolero's own libFuzzer engine) of the targets in
# fuzz/tests/targets.rs, each for FUZZ_SECONDS (60 unless set). `make test` replays their
# corpora and random inputs as plain tests; here libFuzzer is guided by what the code covers,
# and adds every input that reaches new code to the target's committed corpus
# (fuzz/tests/__fuzz__/<target>/corpus; not reduced afterwards, which would drop the readable
# seeds written by hand). A crash is written beside it under `crashes/` and fails the run:
# commit it with its fix.
#
# This does by hand what `cargo bolero test` does (same flags, same environment), but builds
# only the one test binary `targets` of the package `tiedoksi-fuzz`: cargo-bolero builds every
# test target of a package, and a program without libFuzzer linked in cannot answer the
# coverage hooks. On the machine's stable toolchain: no sanitizer (the -Z flags need
# nightly); the targets' own assertions and every panic are what fails. The instrumented build
# has its own directory (build scripts and macros are not instrumented: `--target` is given).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
SECONDS_EACH="${FUZZ_SECONDS:-60}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/fuzz"
TARGETS="${FUZZ_TARGETS:-identity_codes postal_addresses notice_text_and_its_preview letters_render_or_refuse simulator_requests_are_answered_never_failed}"
TRIPLE="$(rustc -vV | sed -n 's/^host: //p')"

# cargo-bolero 0.13's libFuzzer flags (bin/cargo-bolero/src/{project,libfuzzer}.rs).
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module --cfg fuzzing_libfuzzer \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-pc-table -Cllvm-args=-sanitizer-coverage-trace-compares \
-Cllvm-args=-sanitizer-coverage-stack-depth"
export BOLERO_FUZZER=libfuzzer

cd "$ROOT"
echo "==> building the instrumented fuzz targets (in $TARGET_DIR)" >&2
build=(cargo test --package tiedoksi-fuzz --test targets --profile fuzz --target "$TRIPLE"
  --target-dir "$TARGET_DIR" --no-run)
"${build[@]}"
exe="$("${build[@]}" --message-format=json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message["target"]["name"] == "targets":
        print(message["executable"])
')"

for target in $TARGETS; do
  work="$ROOT/fuzz/tests/__fuzz__/$target"
  mkdir -p "$work/corpus" "$work/crashes"
  echo "==> fuzzing $target for ${SECONDS_EACH}s" >&2
  BOLERO_TEST_NAME="$target" BOLERO_LIBTEST_HARNESS=1 \
    BOLERO_LIBFUZZER_ARGS="$work/corpus $work/crashes -artifact_prefix=$work/crashes/ -timeout=10 -max_total_time=$SECONDS_EACH" \
    "$exe" "$target" --exact --nocapture --quiet --test-threads 1
done
