#!/usr/bin/env bash
# llama.cpp reference throughput: runs llama-bench (CPU, built by scripts/setup-llama-cpp.sh) on MODEL
# with a 512-token prompt (pp512: prefill) and 128 generated tokens (tg128: single-stream decode),
# at 2 threads and at 1 thread, 5 repetitions each (llama-bench's default), and prints
#   {"pp512_tokens_per_s": …, "tg128_tokens_per_s": …, "threads": 2, "one_thread": {…}, …}
# Values are llama-bench's mean tokens/s over the repetitions.
# Usage: scripts/reference/llama_bench.sh MODEL.gguf
set -euo pipefail
MODEL="${1:?usage: $0 MODEL.gguf}"
BIN="${ZEROSEARCH_CACHE:-$HOME/.cache/zerosearch}/llama.cpp/llama-bench"
[ -x "$BIN" ] || { echo "error: $BIN missing; run scripts/setup-llama-cpp.sh" >&2; exit 1; }

"$BIN" -m "$MODEL" -t 2,1 -p 512 -n 128 -o json 2>/dev/null | python3 -c '
import json, sys
rows = json.load(sys.stdin)
def rate(t, kind):
    for r in rows:
        if r["n_threads"] == t and ((kind == "pp" and r["n_gen"] == 0) or (kind == "tg" and r["n_prompt"] == 0)):
            return round(r["avg_ts"], 2), round(r["stddev_ts"], 2)
def summary(t):
    (pp, pps), (tg, tgs) = rate(t, "pp"), rate(t, "tg")
    return {"pp512_tokens_per_s": pp, "tg128_tokens_per_s": tg, "pp512_stddev": pps, "tg128_stddev": tgs}
out = summary(2)
out.update(threads=2, one_thread=summary(1), build=rows[0].get("build_commit"), cpu=rows[0].get("cpu_info"))
print(json.dumps(out))
'
