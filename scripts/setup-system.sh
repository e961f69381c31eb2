#!/usr/bin/env bash
# Installs the system packages the Swift build needs beyond the toolchain:
# zlib's headers (the CZlib module inflates wheels). Idempotent: does nothing
# when they are present.
set -euo pipefail
if [ -f /usr/include/zlib.h ]; then exit 0; fi
echo "zlib headers missing: installing zlib1g-dev"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
$SUDO apt-get update -qq && $SUDO apt-get install -y -qq zlib1g-dev
