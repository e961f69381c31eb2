#!/usr/bin/env python3
"""Reference encode throughput of Hugging Face `tokenizers` (single-threaded `encode`).

Reads a JSON list of documents (written by `zerosearch bench tokenizer`), encodes them
the two ways the Swift side does, and prints one JSON object per way on stdout:

    {"name": "whole" | "documents", "mb_per_s_best", "mb_per_s_median", "tokens", "checksum"}

"whole" encodes all documents joined into one string, "documents" each one separately.
The checksum (FNV-1a over the ids as little-endian uint32) lets the caller check that
both sides produced the same ids. Diagnostics go to stderr.
"""
import argparse
import json
import statistics
import sys
import time

from tokenizers import Tokenizer


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--tokenizer", required=True, help="tokenizer.json")
    p.add_argument("--corpus", required=True, help="JSON list of strings")
    p.add_argument("--repeats", type=int, default=5)
    return p.parse_args()


def checksum(id_lists):
    h = 0xCBF29CE484222325
    for ids in id_lists:
        for i in ids:
            for byte in i.to_bytes(4, "little"):
                h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def measure(name, texts, tokenizer, repeats):
    size = sum(len(t.encode("utf-8")) for t in texts)
    seconds, id_lists = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        id_lists = [tokenizer.encode(t, add_special_tokens=False).ids for t in texts]
        seconds.append(time.perf_counter() - start)
    print(f"{name}: {size / 1e6:.2f} MB, best {min(seconds) * 1e3:.1f} ms", file=sys.stderr)
    return {
        "name": name,
        "mb_per_s_best": size / 1e6 / min(seconds),
        "mb_per_s_median": size / 1e6 / statistics.median(seconds),
        "tokens": sum(len(ids) for ids in id_lists),
        "checksum": str(checksum(id_lists)),
    }


def main():
    args = parse_args()
    tokenizer = Tokenizer.from_file(args.tokenizer)
    with open(args.corpus, encoding="utf-8") as f:
        documents = json.load(f)
    print(json.dumps(measure("whole", ["".join(documents)], tokenizer, args.repeats)), flush=True)
    print(json.dumps(measure("documents", documents, tokenizer, args.repeats)), flush=True)


if __name__ == "__main__":
    main()
