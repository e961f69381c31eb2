"""Load on a running `zerosearch serve` (docs/serving.md, BENCHMARKS.md).

Usage: serve-load.py BASE_URL SERVER_PID [--clients 1,4,16] [--requests 32] [--max-tokens 64] [--rounds 1]

For each client count, that many threads send simulator-style chat requests
(ZeroSearch's own request shape) until `--requests` have been answered; prints
one JSON line per count: generated tokens/s over the wall time, latency
percentiles, and the server's resident memory after the round (from /proc).
`--rounds N` repeats the whole sweep N times, to see whether memory settles.
"""

import argparse
import json
import statistics
import threading
import time

import openai

parser = argparse.ArgumentParser()
parser.add_argument("base")
parser.add_argument("pid", type=int)
parser.add_argument("--clients", default="1,4,16")
parser.add_argument("--requests", type=int, default=32)
parser.add_argument("--max-tokens", type=int, default=64)
parser.add_argument("--rounds", type=int, default=1)
args = parser.parse_args()

client = openai.OpenAI(base_url=args.base.rstrip("/") + "/v1", api_key="EMPTY", max_retries=3, timeout=600)
questions = [line.strip() for line in open("data/nq_open_dev.jsonl")][:200]


def rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def prompt(i):
    question = json.loads(questions[i % len(questions)])["question"]
    return (
        "You are the Google search engine.\nGiven a query, you need to generate five useful documents for the query.\n\n"
        f'The user is trying to answer the question: "{question}".\n\n'
        "Each document should contain about 30 words.\n\n"
        f"Query: {question}\n\nUseful Output:\n"
    )


for round_index in range(args.rounds):
    for clients in [int(c) for c in args.clients.split(",")]:
        latencies, tokens, lock, next_request = [], [0], threading.Lock(), [0]

        def worker():
            while True:
                with lock:
                    if next_request[0] >= args.requests:
                        return
                    i = next_request[0]
                    next_request[0] += 1
                started = time.perf_counter()
                response = client.chat.completions.create(
                    model="",
                    messages=[{"role": "system", "content": ""}, {"role": "user", "content": [{"type": "text", "text": prompt(i)}]}],
                    max_tokens=args.max_tokens,
                    temperature=0.8,
                    seed=i,
                )
                with lock:
                    latencies.append(time.perf_counter() - started)
                    tokens[0] += response.usage.completion_tokens

        started = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        latencies.sort()
        print(
            json.dumps(
                {
                    "round": round_index,
                    "clients": clients,
                    "requests": args.requests,
                    "generated_tokens": tokens[0],
                    "seconds": round(wall, 2),
                    "tokens_per_second": round(tokens[0] / wall, 1),
                    "latency_p50_s": round(statistics.median(latencies), 2),
                    "latency_p95_s": round(latencies[int(0.95 * (len(latencies) - 1))], 2),
                    "server_rss_mib": round(rss_mib(args.pid), 1),
                }
            ),
            flush=True,
        )
