#!/usr/bin/env bash
# PostgreSQL must answer at 127.0.0.1:5432 (user postgres, trust auth) for the tests.
# This machine kind has it installed; start the cluster if it is down.
set -euo pipefail

ready() { pg_isready -q -h 127.0.0.1 -p 5432 -U postgres 2>/dev/null; }

if ready; then exit 0; fi
echo "==> starting PostgreSQL" >&2
if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
  version="$(ls /etc/postgresql | sort -V | tail -1)"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
fi
for _ in $(seq 1 30); do
  if ready; then exit 0; fi
  sleep 1
done
echo "PostgreSQL is not reachable at 127.0.0.1:5432 and could not be started." >&2
echo "The tests need it (user postgres, trust auth). Start it and run make test again." >&2
exit 1
