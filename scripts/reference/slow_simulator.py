#!/usr/bin/env python3
"""A remote simulator's latency without its GPU: an OpenAI-compatible chat server
that answers each request after a random 0.5-2 s (seeded) with five documents,
30-word windows of random Wikipedia articles from the corpus `zerosearch data pull`
writes. `zerosearch bench rl --set engine.spec=sim+http://127.0.0.1:PORT` then
times rollouts whose searches wait as they would on a loaded inference server.

Usage: slow_simulator.py --corpus wiki.jsonl [--port 8931] [--min 0.5] [--max 2.0]
"""
import argparse
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--corpus", required=True)
    p.add_argument("--port", type=int, default=8931)
    p.add_argument("--min", type=float, default=0.5)
    p.add_argument("--max", type=float, default=2.0)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    with open(args.corpus) as f:
        articles = [json.loads(line) for line in f]
    rng = random.Random(args.seed)
    lock = threading.Lock()

    def documents():
        with lock:
            picked = [rng.choice(articles) for _ in range(5)]
            delay = rng.uniform(args.min, args.max)
        lines = [f"Doc {i + 1}: (Title: {a['title']}) {' '.join(a['text'].split()[:30])}" for i, a in enumerate(picked)]
        return "\n".join(lines), delay

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_):
            pass

        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            self.rfile.read(length)
            text, delay = documents()
            time.sleep(delay)
            body = json.dumps({
                "id": "slow", "object": "chat.completion", "created": int(time.time()), "model": "slow-simulator",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            }).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    ThreadingHTTPServer(("127.0.0.1", args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
