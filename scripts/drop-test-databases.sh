#!/usr/bin/env bash
# Drops the per-test PostgreSQL databases earlier runs left behind.
set -euo pipefail
psql -h 127.0.0.1 -U postgres -d postgres -Atq \
  -c "SELECT datname FROM pg_database WHERE datname LIKE 'tiedoksi_test_%'" |
while read -r name; do
  [ -n "$name" ] && psql -h 127.0.0.1 -U postgres -d postgres -q -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)"
done
