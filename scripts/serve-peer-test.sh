#!/usr/bin/env bash
# `zerosearch serve` seen by clients nobody here wrote (issue 20; `make test` runs it):
#  1. the official `openai` Python package and a copy of ZeroSearch's own simulator request
#     (scripts/serve_peer_test.py) against a server that also serves a BM25 index;
#  2. `zerosearch train` with `sim+http://A,http://B`: its calls reach both servers, B is
#     killed (SIGKILL) after the first step, and the run still finishes every step;
#  3. SIGTERM while a request is in flight: the request completes, the server exits 0.
# The model is the test suite's committed 2-layer base, so this takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
ZS=.build/release/zerosearch
MODEL=Sources/Demo/QuickBases/seed-1
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
python3 -c 'import openai' 2>/dev/null || python3 -m pip install -q openai

fail() { echo "FAIL $*" >&2; exit 1; }

# Starts a server in the background; sets PID and URL.
serve() {
    local name=$1
    shift
    "$ZS" serve --model "$MODEL" --port 0 "$@" >"$WORK/$name.log" 2>&1 &
    PID=$!
    for _ in $(seq 300); do
        grep -q ' on http://' "$WORK/$name.log" && break
        kill -0 "$PID" 2>/dev/null || fail "server $name did not start: $(cat "$WORK/$name.log")"
        sleep 0.1
    done
    URL=$(grep -o 'http://[0-9.:]*' "$WORK/$name.log" | head -1)
    [ -n "$URL" ] || fail "server $name printed no address"
}

# Requests a server has answered on an endpoint, from its Prometheus metrics.
requests() {
    curl -sf "$1/metrics" | awk -v e="$2" '$0 ~ "^zerosearch_requests_total\\{endpoint=\"" e "\"" { n += $2 } END { print n + 0 }'
}

echo "== 1. peer clients"
cat >"$WORK/corpus.jsonl" <<'EOF'
{"id": "0", "title": "Hamlet", "text": "Hamlet is a tragedy written by William Shakespeare around 1600."}
{"id": "1", "title": "Paris", "text": "Paris is the capital and largest city of France."}
{"id": "2", "title": "Jupiter", "text": "Jupiter is the largest planet in the Solar System."}
EOF
"$ZS" index build --corpus "$WORK/corpus.jsonl" --out "$WORK/corpus.bm25" >/dev/null
serve peers --engine "bm25:$WORK/corpus.bm25"
PEERS_PID=$PID
python3 scripts/serve_peer_test.py "$URL"
kill -TERM "$PEERS_PID"
wait "$PEERS_PID" || fail "the peer server exited $? after SIGTERM"

echo "== 2. training against two servers, one killed mid-run"
serve a
A_PID=$PID A_URL=$URL
serve b
B_PID=$PID B_URL=$URL
cat >"$WORK/questions.jsonl" <<'EOF'
{"question": "who wrote hamlet", "answer": ["Shakespeare"]}
{"question": "capital of france", "answer": ["Paris"]}
{"question": "largest planet", "answer": ["Jupiter"]}
{"question": "first man on the moon", "answer": ["Neil Armstrong"]}
EOF
cat >"$WORK/run.yaml" <<EOF
policy:
  model: $PWD/$MODEL
data:
  train: questions.jsonl
engine:
  spec: sim+$A_URL,$B_URL
  simulator_mode: sft
  max_tokens: 48
  timeout: 10
  attempts: 4
  concurrency: 4
rollout:
  prompts_per_step: 4
  group_size: 4
  max_turns: 2
  max_turn_tokens: 16
  max_observation_tokens: 96
  max_context_tokens: 320
  template: "Question: {question}\\n"
algorithm:
  advantage: grpo
actor:
  warmup_ratio: 0
trainer:
  total_steps: 6
  save_every: 0
  output_dir: $WORK/run
EOF
"$ZS" train --config "$WORK/run.yaml" >"$WORK/train.log" 2>&1 &
TRAIN_PID=$!
for _ in $(seq 600); do
    [ -s "$WORK/run/metrics.jsonl" ] && break
    kill -0 "$TRAIN_PID" 2>/dev/null || fail "training stopped before its first step: $(tail -5 "$WORK/train.log")"
    sleep 0.1
done
A_CALLS=$(requests "$A_URL" chat)
B_CALLS=$(requests "$B_URL" chat)
echo "after step 1: server A answered $A_CALLS simulator calls, server B $B_CALLS"
[ "$A_CALLS" -gt 0 ] && [ "$B_CALLS" -gt 0 ] || fail "the calls did not reach both servers"
kill -KILL "$B_PID"
wait "$TRAIN_PID" || fail "training failed after server B was killed: $(tail -5 "$WORK/train.log")"
STEPS=$(wc -l <"$WORK/run/metrics.jsonl")
A_AFTER=$(requests "$A_URL" chat)
echo "training finished $STEPS steps; server A answered $((A_AFTER - A_CALLS)) more calls after B was killed"
[ "$STEPS" -eq 6 ] || fail "training wrote $STEPS steps, not 6"
[ "$A_AFTER" -gt "$A_CALLS" ] || fail "no calls reached server A after B was killed"

echo "== 3. SIGTERM with a request in flight"
curl -sf "$A_URL/v1/completions" -d '{"prompt": "The river", "max_tokens": 900, "temperature": 1, "seed": 3}' >"$WORK/inflight.json" &
CURL_PID=$!
for _ in $(seq 100); do
    [ "$(curl -sf "$A_URL/health" | grep -o '"running": [0-9]*' | grep -o '[0-9]*$')" != 0 ] && break
    sleep 0.01
done
kill -TERM "$A_PID"
wait "$A_PID" || fail "the server exited $? after SIGTERM"
wait "$CURL_PID" || fail "the in-flight request failed during shutdown"
grep -q '"finish_reason": "length"' "$WORK/inflight.json" || fail "the in-flight request did not finish: $(head -c 300 "$WORK/inflight.json")"
echo "the in-flight request finished; the server exited 0"
echo "serve peer test passed"
