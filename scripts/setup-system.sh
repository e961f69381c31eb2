#!/usr/bin/env bash
# Installs the system packages the Swift build needs beyond the toolchain:
# zlib's headers (the CZlib module inflates wheels and gzip parquet pages) and
# zstd's (the CZstd module decompresses zstd parquet pages). Idempotent: does
# nothing when they are present.
set -euo pipefail
MISSING=()
[ -f /usr/include/zlib.h ] || MISSING+=(zlib1g-dev)
[ -f /usr/include/zstd.h ] || MISSING+=(libzstd-dev)
if [ ${#MISSING[@]} -eq 0 ]; then exit 0; fi
echo "headers missing: installing ${MISSING[*]}"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
$SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${MISSING[@]}"
