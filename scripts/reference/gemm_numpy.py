#!/usr/bin/env python3
"""Reference GEMM throughput of numpy (OpenBLAS) in float32.

A shape MxKxN means A[M,K] @ W[N,K].T, i.e. the PyTorch Linear layout where the
weight is stored [out_features, in_features]. Prints one JSON object per shape
on stdout; diagnostics go to stderr.
"""
import argparse
import json
import os
import statistics
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--shapes", default="1024x1024x1024,512x896x4864,8x896x896,1x576x1536",
                   help="comma-separated MxKxN list")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--min-time-ms", type=float, default=2.0,
                   help="minimum duration of one timing sample (inner iterations are increased until reached)")
    return p.parse_args()


args = parse_args()
# BLAS reads its thread count once, when the library is loaded, so these must be
# set before numpy is imported.
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(args.threads)

import numpy as np  # noqa: E402


def parse_shape(text):
    m, k, n = (int(x) for x in text.lower().split("x"))
    return m, k, n


def time_loop(fn, inner):
    start = time.perf_counter()
    for _ in range(inner):
        fn()
    return time.perf_counter() - start


def bench(m, k, n):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    w = rng.standard_normal((n, k), dtype=np.float32)
    c = np.empty((m, n), dtype=np.float32)
    wt = w.T  # a view; numpy hands it to sgemm as a transposed operand, no copy

    def step():
        np.matmul(a, wt, out=c)

    # Warm up (BLAS thread pool start-up, page faults on the buffers).
    for _ in range(3):
        step()

    # Grow the inner iteration count until one sample lasts at least min_time.
    min_time = args.min_time_ms / 1e3
    inner = 1
    while (elapsed := time_loop(step, inner)) < min_time:
        inner = max(inner * 2, int(inner * min_time / max(elapsed, 1e-9) * 1.2))

    per_call = [time_loop(step, inner) / inner for _ in range(args.repeats)]
    flops = 2.0 * m * k * n
    print(f"gemm {m}x{k}x{n}: inner={inner} best={min(per_call) * 1e3:.4f} ms",
          file=sys.stderr)
    return {
        "name": f"gemm {m}x{k}x{n}",
        "m": m,
        "k": k,
        "n": n,
        "gflops_best": round(flops / min(per_call) / 1e9, 3),
        "gflops_median": round(flops / statistics.median(per_call) / 1e9, 3),
        "threads": args.threads,
    }


def main():
    print(f"numpy {np.__version__}, threads={args.threads}", file=sys.stderr)
    for shape in args.shapes.split(","):
        print(json.dumps(bench(*parse_shape(shape.strip()))), flush=True)


if __name__ == "__main__":
    main()
