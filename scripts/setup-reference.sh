#!/usr/bin/env bash
# Installs the Python packages used by scripts/reference/*.py (numpy, torch,
# tokenizers, transformers, bm25s with numba, peft, pyarrow) into the python3 on PATH. Idempotent: packages that already import
# are left alone.
set -euo pipefail

PYTHON="${PYTHON:-python3}"

if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "error: $PYTHON not found on PATH" >&2
    exit 1
fi

# A Debian-managed python3 refuses pip installs (PEP 668) unless told otherwise;
# older pips do not know the flag.
PIP_FLAGS=(--quiet)
if "$PYTHON" -m pip install --help 2>/dev/null | grep -q -- --break-system-packages; then
    PIP_FLAGS+=(--break-system-packages)
fi

ensure() {
    local module="$1" package="$2"
    if "$PYTHON" -c "import $module" >/dev/null 2>&1; then
        echo "$module: present ($("$PYTHON" -c "import $module; print($module.__version__)"))"
        return
    fi
    if [ "$module" = torch ]; then
        echo "note: the torch wheel is large (several hundred MB to a few GB); this may take a while"
    fi
    echo "$module: installing $package"
    if ! "$PYTHON" -m pip install "${PIP_FLAGS[@]}" "$package"; then
        echo "error: 'pip install $package' failed; install it manually for $PYTHON" >&2
        exit 1
    fi
    if ! "$PYTHON" -c "import $module" >/dev/null 2>&1; then
        echo "error: $package installed but 'import $module' still fails" >&2
        exit 1
    fi
}

ensure numpy numpy
ensure torch torch
ensure tokenizers tokenizers
# transformers reads GGUF files through gguf, and needs accelerate to do so.
ensure transformers transformers
ensure gguf gguf
ensure accelerate accelerate
# The BM25 reference (zerosearch bench bm25); numba is its fast retrieval backend.
ensure bm25s bm25s
ensure numba numba
# Loads LoRA adapters written by training (scripts/reference/check_peft_adapter.py).
ensure peft peft
# Writes the parquet fixtures (scripts/fixtures/make_parquet_fixtures.py).
ensure pyarrow pyarrow
# The GRPO reference of `zerosearch bench rl` (Hugging Face TRL).
ensure trl "trl==1.16.0"
