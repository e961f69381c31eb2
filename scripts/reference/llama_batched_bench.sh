#!/usr/bin/env bash
# llama.cpp reference for batched decoding: runs llama-batched-bench (CPU, built by
# scripts/setup-llama-cpp.sh) on MODEL with PARALLEL sequences (default 32), each an
# 8-token prompt then 128 generated tokens, at 2 threads, and prints
#   {"parallel": 32, "tg_tokens_per_s": …, "pp_tokens_per_s": …, "build": …}
# tg_tokens_per_s is llama-batched-bench's S_TG: generated tokens over all sequences per
# second of the generation phase (prompt processing excluded), the figure our
# "decode tg128, 32 streams" row reports. Usage: scripts/reference/llama_batched_bench.sh MODEL.gguf [PARALLEL]
set -euo pipefail
MODEL="${1:?usage: $0 MODEL.gguf [PARALLEL]}"
PARALLEL="${2:-32}"
BIN="${ZEROSEARCH_CACHE:-$HOME/.cache/zerosearch}/llama.cpp/llama-batched-bench"
[ -x "$BIN" ] || { echo "error: $BIN missing; run scripts/setup-llama-cpp.sh" >&2; exit 1; }

# The KV cache holds every sequence's 136 tokens; one ubatch takes a whole decode step.
"$BIN" -m "$MODEL" -t 2 -c $((PARALLEL * 136 + 256)) -b 2048 -ub 512 -npp 8 -ntg 128 -npl "$PARALLEL" \
    --output-format jsonl 2>/dev/null | python3 -c '
import json, sys
rows = [json.loads(line) for line in sys.stdin if line.startswith("{")]
row = rows[-1]
print(json.dumps({"parallel": row["pl"], "tg_tokens_per_s": round(row["speed_tg"], 2),
                  "pp_tokens_per_s": round(row["speed_pp"], 2), "threads": row["n_threads"]}))
'
