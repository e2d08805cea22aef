#!/usr/bin/env bash
# The mail clients nobody here wrote that the SMTP bridge's tests drive, installed only when
# missing: swaks (Debian) for pipelining and AUTH, and aiosmtpd (PyPI, in a venv in the build
# cache) to receive the bridge's reports. smtplib and email are Python's standard library.
set -euo pipefail

VENV="${XDG_CACHE_HOME:-$HOME/.cache}/tiedoksi/smtp-test-venv"
# aiosmtpd receives the bridge's reports; prometheus_client parses /metrics in its test; moto's
# server is the S3-compatible object store the document store's contract tests run against.
PACKAGES="aiosmtpd==1.4.6 prometheus_client==0.21.1 moto[server]==5.2.5"

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import aiosmtpd, prometheus_client, moto.server" 2>/dev/null; then
  echo "==> installing $PACKAGES into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check $PACKAGES
fi

if ! command -v swaks >/dev/null; then
  echo "==> installing swaks from Debian" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq swaks >/dev/null \
    || { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq swaks >/dev/null; }
fi

# The OpenID provider the single sign-on tests run (npm, pinned by its lock file). Next to its
# script: an ES module does not look in NODE_PATH.
OIDC_DIR="$(cd "$(dirname "$0")/.." && pwd)/server/tests/oidc"
if [ ! -d "$OIDC_DIR/node_modules/oauth2-mock-server" ]; then
  echo "==> installing the OpenID test provider (npm)" >&2
  (cd "$OIDC_DIR" && npm ci --no-audit --no-fund --loglevel=error)
fi
