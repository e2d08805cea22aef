#!/usr/bin/env bash
# Runs City of Helsinki's Suomi.fi Messages client (PyPI, unchanged) against suomifi-sim.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/suomifi-sim"
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/tiedoksi/helsinki-client-venv"
PACKAGE="django-helsinki-suomifi-messages==1.0.0"

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import suomifi_messages" 2>/dev/null; then
  echo "==> installing $PACKAGE into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "$PACKAGE"
fi

LOG="$(mktemp)"
"$BIN" --port 0 >"$LOG" 2>&1 &
SIM=$!
trap 'kill $SIM 2>/dev/null || true; rm -f "$LOG"' EXIT
for _ in $(seq 1 50); do
  PORT="$(sed -n 's/^port \([0-9]*\)$/\1/p' "$LOG")"
  [ -n "$PORT" ] && break
  sleep 0.1
done
[ -n "${PORT:-}" ] || { cat "$LOG"; echo "suomifi-sim did not start" >&2; exit 1; }

SIM_URL="http://127.0.0.1:$PORT" "$VENV/bin/python" "$ROOT/end2end/compat/helsinki_client.py"
