#!/usr/bin/env bash
# llama.cpp greedy reference: for each prompt in PROMPTS.json (a JSON list of token-ID lists, used as
# is, no BOS added) prints llama.cpp's next N token IDs under pure argmax decoding (no sampler, no
# temperature, no repetition penalty, EOS does not stop it) as a JSON list of lists.
# N = 0 prints the final-position top-5 logits per prompt instead ({"ids": [...], "values": [...]}).
# Uses llama-greedy (scripts/reference/llama_greedy.cpp, built by scripts/setup-llama-cpp.sh).
# Usage: scripts/reference/llama_greedy.sh MODEL.gguf PROMPTS.json N [THREADS=2]
set -euo pipefail
MODEL="${1:?usage: $0 MODEL.gguf PROMPTS.json N [THREADS]}"
PROMPTS="${2:?usage: $0 MODEL.gguf PROMPTS.json N [THREADS]}"
N="${3:?usage: $0 MODEL.gguf PROMPTS.json N [THREADS]}"
BIN="${ZEROSEARCH_CACHE:-$HOME/.cache/zerosearch}/llama.cpp/llama-greedy"
[ -x "$BIN" ] || { echo "error: $BIN missing; run scripts/setup-llama-cpp.sh" >&2; exit 1; }

python3 -c 'import json, sys; [print(*p) for p in json.load(open(sys.argv[1]))]' "$PROMPTS" \
    | "$BIN" "$MODEL" "$N" "${4:-2}" \
    | python3 -c 'import json, sys; print(json.dumps([json.loads(l) for l in sys.stdin if l.strip()]))'
