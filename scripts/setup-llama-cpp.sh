#!/usr/bin/env bash
# Builds the llama.cpp reference (CPU only, Release, -march=native) used by
# scripts/reference/llama_bench.sh and scripts/reference/llama_greedy.sh.
#
# The source is the llama.cpp tree vendored in the llama-cpp-python sdist on PyPI
# (Debian has no llama.cpp package). Result, under
#   ${ZEROSEARCH_CACHE:-$HOME/.cache/zerosearch}/llama.cpp/
#     llama-bench          llama.cpp's own benchmark
#     llama-batched-bench  its batched-decoding benchmark (parallel sequences)
#     llama-server         its OpenAI-compatible server (the peer of `zerosearch serve`)
#     llama-simple         llama.cpp's minimal greedy generation example (prints text)
#     llama-greedy   scripts/reference/llama_greedy.cpp: greedy decoding that takes and prints token IDs
# Idempotent: does nothing if the binaries exist (delete them to rebuild).
# Takes about 5 minutes on 2 cores without the server, which adds several more. Env: LLAMA_CPP_PYTHON_VERSION (default 0.3.36), JOBS.
set -euo pipefail

VERSION="${LLAMA_CPP_PYTHON_VERSION:-0.3.36}"
CACHE="${ZEROSEARCH_CACHE:-$HOME/.cache/zerosearch}"
OUT="$CACHE/llama.cpp"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
JOBS="${JOBS:-$(nproc)}"

if [ -x "$OUT/llama-bench" ] && [ -x "$OUT/llama-simple" ] && [ -x "$OUT/llama-greedy" ] \
    && [ -x "$OUT/llama-batched-bench" ] && [ -x "$OUT/llama-server" ]; then
    echo "llama.cpp already built: $OUT"
    exit 0
fi

# Toolchain.
if ! command -v cmake >/dev/null 2>&1 || ! command -v g++ >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update
    $SUDO apt-get install -y cmake build-essential
fi

# Source: the llama-cpp-python sdist (fall back to the latest if the pin is gone).
mkdir -p "$OUT/src"
if [ ! -d "$OUT/src/llama.cpp" ]; then
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    python3 -m pip download --no-binary :all: --no-deps "llama-cpp-python==$VERSION" -d "$tmp" \
        || python3 -m pip download --no-binary :all: --no-deps llama-cpp-python -d "$tmp"
    tar -xzf "$tmp"/llama_cpp_python-*.tar.gz -C "$tmp"
    mv "$tmp"/llama_cpp_python-*/vendor/llama.cpp "$OUT/src/llama.cpp"
fi
SRC="$OUT/src/llama.cpp"

# Static libraries, so that the binaries copied to $OUT are self-contained.
cmake -S "$SRC" -B "$OUT/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
    -DGGML_NATIVE=ON -DGGML_CUDA=OFF -DGGML_METAL=OFF -DGGML_VULKAN=OFF -DGGML_OPENMP=ON \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_APP=OFF -DLLAMA_OPENSSL=OFF
cmake --build "$OUT/build" -j "$JOBS" --target llama-bench llama-simple llama-batched-bench llama-server
cp "$OUT/build/bin/llama-bench" "$OUT/build/bin/llama-simple" "$OUT/build/bin/llama-batched-bench" "$OUT/build/bin/llama-server" "$OUT/"

# Our token-ID greedy tool, linked against the static libllama/ggml just built.
libs=()
for name in llama ggml ggml-cpu ggml-base; do
    libs+=("$(find "$OUT/build" -name "lib$name.a" | head -n 1)")
done
g++ -O2 -std=c++17 -march=native -I"$SRC/include" -I"$SRC/ggml/include" \
    "$HERE/reference/llama_greedy.cpp" "${libs[@]}" -fopenmp -lpthread -ldl -o "$OUT/llama-greedy"

echo "llama.cpp built: $OUT"
