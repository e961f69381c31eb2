#!/usr/bin/env bash
# Greedy decoding of ours against llama.cpp and against transformers (f32,
# the same GGUF dequantised) on the same file: for each prompt in
# scripts/reference/greedy_prompts.json (token ids, made with the model's chat
# template / tokenizer by transformers), all three continue for N tokens with
# argmax and no end-of-sequence stop; prints how many leading tokens agree per
# prompt. llama.cpp quantises activations to 8 bits inside its Q4_1 matmuls,
# so on a near-tie it can pick another token than an f32 computation; the
# exit status is non-zero when ours disagrees with the f32 reference.
# Not part of the default tests: it needs llama.cpp built by
# scripts/setup-llama-cpp.sh (a few minutes) and release-built zerosearch.
# Usage: scripts/reference/compare_greedy.sh [MODEL.gguf] [N=32]
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL="${1:-$(.build/release/zerosearch models pull smollm2-135m-instruct 2>/dev/null)}"
N="${2:-32}"
PROMPTS=scripts/reference/greedy_prompts.json
scripts/setup-llama-cpp.sh >/dev/null
LLAMA=$(scripts/reference/llama_greedy.sh "$MODEL" "$PROMPTS" "$N")
OURS=$(.build/release/zerosearch generate --model "$MODEL" --prompt-tokens "$(cat "$PROMPTS")" \
    --temperature 0 --max-tokens "$N" --ignore-eos --json | python3 -c 'import json, sys; print(json.dumps([json.loads(l)["tokens"] for l in sys.stdin]))')
TORCH=$(python3 scripts/reference/generate_torch.py --gguf "$MODEL" --dump-greedy "$PROMPTS" "$N" 2>/dev/null | tail -1)
python3 - "$LLAMA" "$TORCH" "$OURS" "$N" <<'PY'
import json, sys
llama, torch, ours, n = json.loads(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3]), int(sys.argv[4])
def agree(a, b):
    return next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
ok = len(ours) == len(torch) == len(llama)
for i, (l, t, o) in enumerate(zip(llama, torch, ours)):
    ok &= agree(o, t) == n
    print(json.dumps({"prompt": i, "of": n, "agree_llama_cpp": agree(o, l), "agree_transformers": agree(o, t),
                      "llama_cpp_vs_transformers": agree(l, t), "ours": o, "llama_cpp": l, "transformers": t}))
sys.exit(0 if ok else 1)
PY
