#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer, through bolero's own libFuzzer engine) of the targets in
# fuzz/tests/targets.rs, each for FUZZ_SECONDS (60 unless set; 0 only reduces the corpus).
# `make test` replays their corpora and random inputs as plain tests; here libFuzzer is guided
# by what the code covers, and keeps the inputs that reach new code in the target's committed
# corpus (fuzz/tests/__fuzz__/<target>/corpus, reduced afterwards; the readable seeds written
# by hand always stay). A crash is written beside it under `crashes/` and fails the run:
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

# Every target of the binary unless FUZZ_TARGETS names some.
TARGETS="${FUZZ_TARGETS:-$("$exe" --list --format terse | sed -n 's/: test$//p')}"

libfuzzer() { # target, libFuzzer's arguments
  BOLERO_TEST_NAME="$1" BOLERO_LIBTEST_HARNESS=1 BOLERO_LIBFUZZER_ARGS="$2" \
    "$exe" "$1" --exact --nocapture --quiet --test-threads 1
}

for target in $TARGETS; do
  work="$ROOT/fuzz/tests/__fuzz__/$target"
  mkdir -p "$work/corpus" "$work/crashes"
  if [ "$SECONDS_EACH" != 0 ]; then
    echo "==> fuzzing $target for ${SECONDS_EACH}s" >&2
    libfuzzer "$target" "$work/corpus $work/crashes -artifact_prefix=$work/crashes/ -timeout=10 -max_total_time=$SECONDS_EACH"
  fi
  # The committed corpus stays small enough for `make test` to replay whole: of the inputs
  # libFuzzer found (named by their SHA-1), keep those that reach code the seeds written by hand
  # and the inputs kept before them do not (libFuzzer's merge, into the seeds alone, by the
  # edges they reach, not how often).
  found="$(mktemp -d)"
  find "$work/corpus" -maxdepth 1 -type f -regextype posix-extended -regex '.*/[0-9a-f]{40}' \
    -exec mv -t "$found" {} +
  echo "==> keeping what reaches new code of $(ls "$found" | wc -l) inputs of $target (all in $found until done)" >&2
  libfuzzer "$target" "-merge=1 -use_counters=0 $work/corpus $found"
  rm -rf "$found"
  echo "==> $target: $(ls "$work/corpus" | wc -l) inputs in its corpus" >&2
done
