#!/usr/bin/env python3
"""Reference BM25 with the `bm25s` package, configured like zerosearch's index.

Same analysis (lower-case, split on anything but letters and digits, Lucene's 33 English stop
words, which are bm25s' `stopwords="en"`, no stemming), `method="lucene"` with the same k1 and
b, title and text indexed together. bm25s' lucene scores leave out the constant factor (k1+1);
the caller multiplies before comparing.

Times: reading the JSONL, tokenizing and indexing (the build), then batch retrieval of all
queries, query tokenization included, best of --repeats after a warm-up (which also compiles
the numba kernels): the numba backend with 1 and 2 threads when numba is installed, and the
default numpy backend single-threaded. Prints one JSON object: the times, and for the first
--sample queries the top-k passage ids and scores (numba backend when present).
Installs nothing: scripts/setup-reference.sh does.
"""
import argparse
import json
import sys
import time

import bm25s

TOKEN_PATTERN = r"(?u)[^\W_]+"


def tokenize(texts):
    return bm25s.tokenize(texts, lower=True, token_pattern=TOKEN_PATTERN, stopwords="en",
                          return_ids=False, show_progress=False)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", required=True)
    p.add_argument("--queries", required=True)
    p.add_argument("--k1", type=float, default=1.2)
    p.add_argument("--b", type=float, default=0.75)
    p.add_argument("--top-k", type=int, default=10)
    p.add_argument("--sample", type=int, default=200)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()

    try:
        import numba  # noqa: F401
        backend = "numba"
    except ImportError:
        backend = "numpy"

    start = time.perf_counter()
    ids, texts = [], []
    with open(args.corpus, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                row = json.loads(line)
                ids.append(str(row["id"]))
                texts.append(f"{row.get('title', '')} {row['text']}")
    read_s = time.perf_counter() - start
    t = time.perf_counter()
    corpus_tokens = tokenize(texts)
    tokenize_s = time.perf_counter() - t
    t = time.perf_counter()
    retriever = bm25s.BM25(k1=args.k1, b=args.b, method="lucene", backend=backend)
    retriever.index(corpus_tokens, show_progress=False)
    index_s = time.perf_counter() - t
    build_s = time.perf_counter() - start
    print(f"bm25s: {len(ids)} passages, build {build_s:.2f} s (read {read_s:.2f}, tokenize {tokenize_s:.2f}, "
          f"index {index_s:.2f})", file=sys.stderr)

    with open(args.queries, encoding="utf-8") as f:
        queries = [json.loads(line)["query"] for line in f if line.strip()]

    def retrieve(n_threads):
        return retriever.retrieve(tokenize(queries), k=args.top_k, show_progress=False, n_threads=n_threads)

    runs = []
    ways = [("numba", 1), ("numba", args.threads)] if backend == "numba" else []
    ways.append(("numpy", 1))
    sample = None
    for way, threads in ways:
        retriever.backend = way
        retriever.retrieve(tokenize(queries[:16]), k=args.top_k, show_progress=False, n_threads=threads)
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            documents, scores = retrieve(threads)
            times.append(time.perf_counter() - t)
        if sample is None:
            sample = [{"ids": [ids[d] for d in documents[q]], "scores": [float(s) for s in scores[q]]}
                      for q in range(min(args.sample, len(queries)))]
        runs.append({"backend": way, "threads": threads, "seconds_best": min(times),
                     "queries_per_s": len(queries) / min(times)})
        print(f"bm25s {way} x{threads}: {len(queries) / min(times):.0f} queries/s", file=sys.stderr)

    print(json.dumps({"version": bm25s.__version__, "passages": len(ids), "build_s": build_s, "read_s": read_s,
                      "tokenize_s": tokenize_s, "index_s": index_s, "queries": len(queries), "retrieve": runs,
                      "sample": sample}))


if __name__ == "__main__":
    main()
