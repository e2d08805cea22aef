#!/usr/bin/env bash
# Browser tests: the built server on a free port with a fresh SQLite database, driven by
# Playwright in Debian's Chromium (never a downloaded browser).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
# `make release` points these at the release build: the same tests against what ships.
BIN="${E2E_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/debug/tiedoksi}"
SITE="${E2E_SITE:-$ROOT/target/site}"
WORK="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
SMTP_PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export E2E_ADMIN_PASSWORD="e2e-admin-password"
# The SMTP bridge too (plaintext on loopback, for a test's own mail), and what a test needs
# to configure it with `tiedoksi smtp …` on the same database.
export E2E_SMTP_PORT="$SMTP_PORT"
export E2E_TIEDOKSI_BIN="$BIN"
export E2E_DATABASE_URL="sqlite://$WORK/tiedoksi.db"

# The OpenID provider single sign-on goes through (the API tests' one, from npm).
"$ROOT/scripts/ensure-test-clients.sh"
coproc PROVIDER { exec node "$ROOT/server/tests/oidc/provider.mjs" 0; }
read -r READY <&"${PROVIDER[0]}"
OIDC_ISSUER="${READY#READY }"

TIEDOKSI_OIDC_ISSUER="$OIDC_ISSUER" \
TIEDOKSI_OIDC_CLIENT_ID="tiedoksi-e2e" \
TIEDOKSI_OIDC_CLIENT_SECRET="e2e-secret" \
TIEDOKSI_OIDC_ORGANISATION="Demo-organisaatio" \
TIEDOKSI_OIDC_NAME="Kunnan tunnukset" \
TIEDOKSI_ADDR="127.0.0.1:$PORT" \
TIEDOKSI_LOG_FORMAT=json \
TIEDOKSI_EVENTS_POLL_SECONDS=1 \
TIEDOKSI_DATABASE_URL="sqlite://$WORK/tiedoksi.db" \
TIEDOKSI_SMTP_ADDR="127.0.0.1:$SMTP_PORT" \
TIEDOKSI_SMTP_ALLOW_PLAINTEXT=1 \
TIEDOKSI_DATA_KEY_FILE="$WORK/data.key" \
TIEDOKSI_BLOB_DIR="$WORK/blobs" \
TIEDOKSI_ADMIN_PASSWORD="$E2E_ADMIN_PASSWORD" \
LEPTOS_SITE_ROOT="$SITE" \
  "$BIN" >"$WORK/server.log" 2>&1 &
SERVER=$!
cleanup() {
  kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true
  kill "$PROVIDER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
  if curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$SERVER" 2>/dev/null; then cat "$WORK/server.log"; exit 1; fi
  sleep 0.2
done

# The built-in simulator's control API, for tests that move its clock.
SIM_URL="$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    try:
        record = json.loads(line)
    except ValueError:
        continue
    url = record.get("fields", {}).get("url") or record.get("url")
    if url and "simulator" in json.dumps(record):
        print(url)
        break
' "$WORK/server.log")"

mkdir -p "$ROOT/end2end/test-results/screenshots"
cd end2end
if ! BASE_URL="http://127.0.0.1:$PORT" SIM_URL="$SIM_URL" npx playwright test "$@"; then
  echo "---- server log ----"; tail -50 "$WORK/server.log"
  exit 1
fi
