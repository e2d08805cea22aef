#!/usr/bin/env bash
# The mail clients nobody here wrote that the SMTP bridge's tests drive, installed only when
# missing: swaks (Debian) for pipelining and AUTH, and aiosmtpd (PyPI, in a venv in the build
# cache) to receive the bridge's reports. smtplib and email are Python's standard library.
set -euo pipefail

VENV="${XDG_CACHE_HOME:-$HOME/.cache}/tiedoksi/smtp-test-venv"
PACKAGE="aiosmtpd==1.4.6"

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import aiosmtpd" 2>/dev/null; then
  echo "==> installing $PACKAGE into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "$PACKAGE"
fi

if ! command -v swaks >/dev/null; then
  echo "==> installing swaks from Debian" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq swaks >/dev/null \
    || { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq swaks >/dev/null; }
fi
