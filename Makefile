# Tiedoksi — the two commands: `make run` and `make test`. Both install what is missing.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# One warm build cache outside the clone: CI's fresh checkout and every session reuse it.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/tiedoksi/target
export LEPTOS_SITE_ROOT ?= target/site
BIN := $(CARGO_TARGET_DIR)/debug/tiedoksi

.PHONY: run test bench chaos release package tools build lint unit compat e2e api-contract postgres test-clients fmt clean-test-databases

## Build and start Tiedoksi on http://127.0.0.1:3000 (SQLite in data/, built-in simulator).
run: tools build
	@mkdir -p data
	TIEDOKSI_DATABASE_URL="$${TIEDOKSI_DATABASE_URL:-sqlite://data/tiedoksi.db}" \
	TIEDOKSI_SMTP_ADDR="$${TIEDOKSI_SMTP_ADDR:-127.0.0.1:2525}" $(BIN)

## Everything: formatting, lints, unit + integration tests on SQLite and PostgreSQL, browser tests.
test: tools postgres lint unit compat e2e api-contract

## Benchmarks (release build; prints figures, asserts nothing about speed).
bench: tools
	cargo bench -p server --bench simulator_throughput
	cargo bench -p server --bench paper_letter
	cargo bench -p server --bench delivery_pipeline
	cargo bench -p server --bench pipeline_ceiling
	cargo bench -p server --bench batch_throughput
	cargo bench -p server --bench fresh_start
	cargo bench -p server --bench notice_list
	scripts/bundle-size.sh

## The chaos suite at full size (`make test` runs CI-sized versions of the same tests).
chaos: tools postgres
	TIEDOKSI_INSTANCES_NOTICES=5000 cargo test -p server --test api instances -- --nocapture
	TIEDOKSI_CHAOS_NOTICES=1000 TIEDOKSI_CHAOS_OUTAGE_SECONDS=60 \
		cargo test -p server --test api chaos:: -- --nocapture --test-threads 1
	cargo test -p server --test api bad_input -- --nocapture
	BOLERO_RANDOM_TEST_TIME_MS=60000 cargo test -p tiedoksi-fuzz -- --nocapture
	FUZZ_SECONDS=60 scripts/fuzz.sh

## The optimised binary and release site in dist/tiedoksi/, browser-tested as built.
release: tools
	@scripts/ensure-tools.sh --browser
	@scripts/release.sh

## A Debian package of the release (cargo-deb), installed, started against PostgreSQL on
## loopback, reached at /readyz and removed again on this machine.
package: release postgres
	@scripts/package.sh

tools:
	@scripts/ensure-tools.sh $(if $(filter test e2e,$(MAKECMDGOALS)),--browser,)

# The front end through cargo-leptos (wasm, CSS, assets into target/site); the server with
# plain cargo, so it shares its build with `cargo test` instead of compiling twice.
build:
	cargo leptos build --frontend-only
	cargo build -p server --bins

postgres:
	@scripts/ensure-postgres.sh

test-clients:
	@scripts/ensure-test-clients.sh

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p app --features hydrate --target wasm32-unknown-unknown -- -D warnings

unit: postgres clean-test-databases test-clients
	@scripts/unit-tests.sh

# City of Helsinki's Suomi.fi client (PyPI, unchanged) against our simulator.
compat: unit
	@scripts/compat-helsinki.sh

e2e: tools build
	@scripts/e2e.sh

# The integration API against its served OpenAPI document, by schemathesis (PyPI).
api-contract: build
	@scripts/api-contract.sh

fmt:
	cargo fmt --all

clean-test-databases:
	@scripts/drop-test-databases.sh
