// llama-greedy: llama.cpp's greedy (argmax) continuation of prompts given as token IDs.
// Built by scripts/setup-llama-cpp.sh; driven by scripts/reference/llama_greedy.sh.
//
//   llama-greedy MODEL.gguf N [THREADS] < prompts.txt
//
// stdin: one prompt per line, whitespace-separated token IDs, used as is (no BOS is added).
// stdout: one JSON array per prompt with exactly N generated IDs. Pure argmax over the raw logits
// (no sampler, no repetition penalty); end-of-generation tokens do not stop it.
// N = 0 instead prints the final-position top-5 logits: {"ids": [...], "values": [...]}.
#include "llama.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char ** argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.gguf N [THREADS] < prompts.txt\n", argv[0]);
        return 1;
    }
    const int n_new = atoi(argv[2]);
    const int n_threads = argc > 3 ? atoi(argv[3]) : 2;

    std::vector<std::vector<llama_token>> prompts;
    size_t max_len = 0;
    for (std::string line; std::getline(std::cin, line);) {
        std::istringstream ss(line);
        std::vector<llama_token> ids;
        for (long id; ss >> id;) ids.push_back((llama_token) id);
        if (ids.empty()) continue;
        max_len = std::max(max_len, ids.size());
        prompts.push_back(ids);
    }

    llama_log_set([](ggml_log_level, const char *, void *) {}, nullptr);
    llama_backend_init();
    llama_model_params mparams = llama_model_default_params();
    mparams.n_gpu_layers = 0;
    llama_model * model = llama_model_load_from_file(argv[1], mparams);
    if (!model) { fprintf(stderr, "error: cannot load %s\n", argv[1]); return 1; }
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));

    llama_context_params cparams = llama_context_default_params();
    cparams.n_ctx = (uint32_t) (max_len + n_new + 16);
    cparams.n_batch = cparams.n_ubatch = (uint32_t) std::max<size_t>(max_len, 1);
    cparams.n_threads = cparams.n_threads_batch = n_threads;
    llama_context * ctx = llama_init_from_model(model, cparams);
    if (!ctx) { fprintf(stderr, "error: cannot create context\n"); return 1; }

    for (auto & prompt : prompts) {
        llama_memory_clear(llama_get_memory(ctx), true);
        std::vector<llama_token> out;
        llama_token tok = 0;
        llama_batch batch = llama_batch_get_one(prompt.data(), (int32_t) prompt.size());
        if (n_new == 0) {
            if (llama_decode(ctx, batch) != 0) { fprintf(stderr, "error: llama_decode failed\n"); return 1; }
            const float * logits = llama_get_logits_ith(ctx, -1);
            std::vector<int> idx(n_vocab);
            for (int v = 0; v < n_vocab; ++v) idx[v] = v;
            std::partial_sort(idx.begin(), idx.begin() + 5, idx.end(), [&](int a, int b) { return logits[a] > logits[b]; });
            printf("{\"ids\": [%d, %d, %d, %d, %d], \"values\": [%.4f, %.4f, %.4f, %.4f, %.4f]}\n",
                   idx[0], idx[1], idx[2], idx[3], idx[4],
                   logits[idx[0]], logits[idx[1]], logits[idx[2]], logits[idx[3]], logits[idx[4]]);
            continue;
        }
        for (int i = 0; i < n_new; ++i) {
            if (llama_decode(ctx, batch) != 0) { fprintf(stderr, "error: llama_decode failed\n"); return 1; }
            const float * logits = llama_get_logits_ith(ctx, -1);
            int best = 0;
            for (int v = 1; v < n_vocab; ++v) if (logits[v] > logits[best]) best = v;
            tok = best;
            out.push_back(tok);
            batch = llama_batch_get_one(&tok, 1);
        }
        printf("[");
        for (size_t i = 0; i < out.size(); ++i) printf(i ? ", %d" : "%d", out[i]);
        printf("]\n");
    }
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
