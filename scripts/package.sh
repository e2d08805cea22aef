#!/usr/bin/env bash
# `make package`: the Debian package of dist/tiedoksi/ (made by `make release`), then proof
# that it installs and runs on this machine: install it, start the service as its unit does
# (its own user, /var/lib/tiedoksi, /etc/tiedoksi/tiedoksi.env) on loopback against a fresh
# PostgreSQL database, reach /readyz, stop it, and remove the package cleanly.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
CARGO_DEB_VERSION="3.8.0"
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi

if ! cargo deb --version 2>/dev/null | grep -q "$CARGO_DEB_VERSION"; then
  echo "==> installing cargo-deb $CARGO_DEB_VERSION (crates.io)" >&2
  cargo install cargo-deb --locked --version "$CARGO_DEB_VERSION"
fi
[ -x dist/tiedoksi/bin/tiedoksi ] || { echo "dist/tiedoksi is missing: make release" >&2; exit 1; }

DEB="$(cargo deb -p server --no-build --no-strip --output dist/ | tail -1)"
echo "package $DEB"
printf 'package_bytes %s\n' "$(stat -c %s "$DEB")"

DB="tiedoksi_package_$$"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cleanup() {
  [ -n "${SERVER:-}" ] && { kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }
  $SUDO dpkg --purge tiedoksi >/dev/null 2>&1 || true
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

echo "==> installing $DEB" >&2
$SUDO dpkg -i "$DEB" >&2
getent passwd tiedoksi >/dev/null || { echo "no tiedoksi user" >&2; exit 1; }
[ "$(stat -c %U:%G /var/lib/tiedoksi)" = tiedoksi:tiedoksi ] || { echo "state directory not the service's" >&2; exit 1; }
[ "$(stat -c %a /etc/tiedoksi/tiedoksi.env)" = 640 ] || { echo "the settings are readable by all" >&2; exit 1; }
[ -s /etc/tiedoksi/data.key ] || { echo "no data key" >&2; exit 1; }
# The unit as systemd reads it, now that its program, user and environment file exist.
systemd-analyze verify --man=no /lib/systemd/system/tiedoksi.service

psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $DB" >/dev/null
echo "==> starting the service as its unit does, on 127.0.0.1:$PORT against PostgreSQL" >&2
# Without systemd as PID 1 here: the unit's user, working directory and environment file by
# hand, with the address and database set as a drop-in would.
( cd /var/lib/tiedoksi && set -a && . /etc/tiedoksi/tiedoksi.env && set +a &&
  export TIEDOKSI_ADDR="127.0.0.1:$PORT" TIEDOKSI_METRICS_ADDR= \
         TIEDOKSI_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB" &&
  exec runuser -u tiedoksi -- /usr/bin/tiedoksi ) >/tmp/tiedoksi-package.log 2>&1 &
SERVER=$!
started=$(date +%s%N)
for _ in $(seq 1 150); do
  if curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1; then break; fi
  kill -0 "$SERVER" 2>/dev/null || { cat /tmp/tiedoksi-package.log; exit 1; }
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$PORT/readyz"; echo
printf 'package_ready_seconds %.2f\n' "$(echo "($(date +%s%N) - $started) / 1000000000" | bc -l)"
curl -fsS "http://127.0.0.1:$PORT/login" | grep -q "/pkg/" || { echo "the site is not served" >&2; exit 1; }
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true; SERVER=""

echo "==> removing the package" >&2
$SUDO dpkg --purge tiedoksi >&2
for path in /usr/bin/tiedoksi /usr/share/tiedoksi /lib/systemd/system/tiedoksi.service /etc/tiedoksi/tiedoksi.env; do
  [ ! -e "$path" ] || { echo "$path left behind" >&2; exit 1; }
done
echo "package installed, served /readyz and removed cleanly (kept: /var/lib/tiedoksi, /etc/tiedoksi/data.key)"
$SUDO rm -rf /var/lib/tiedoksi /etc/tiedoksi
