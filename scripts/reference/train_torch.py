#!/usr/bin/env python3
"""Reference training throughput of a Llama-shaped decoder in plain PyTorch (f32, CPU).

Defaults are the SmolLM2-135M shape. One training step is forward + backward +
AdamW step + zero_grad on a fixed random token batch. Prints exactly one JSON
line on stdout; progress goes to stderr.
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time

# The installed torch is a CUDA build; hiding every device guarantees that
# nothing (e.g. a lazy CUDA init) can touch a GPU and that all work is on CPU.
os.environ["CUDA_VISIBLE_DEVICES"] = ""

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--layers", type=int, default=30)
    p.add_argument("--dim", type=int, default=576)
    p.add_argument("--heads", type=int, default=9)
    p.add_argument("--kv-heads", type=int, default=3)
    p.add_argument("--ffn", type=int, default=1536)
    p.add_argument("--vocab", type=int, default=49152)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--rope-theta", type=float, default=100000.0)
    p.add_argument("--steps", type=int, default=5, help="timed steps")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps before timing")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if args.dim % args.heads or args.heads % args.kv_heads:
        p.error("--dim must be divisible by --heads, and --heads by --kv-heads")
    if (args.dim // args.heads) % 2:
        p.error("head dim (dim/heads) must be even for RoPE")
    if args.steps < 1:
        p.error("--steps must be >= 1")
    return args


class RMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def rope_tables(seq, head_dim, theta):
    """cos/sin tables [seq, head_dim] in the HF Llama layout (frequencies duplicated)."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    freqs = torch.outer(torch.arange(seq, dtype=torch.float32), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def apply_rope(x, cos, sin):
    return x * cos + rotate_half(x) * sin


class Attention(nn.Module):
    def __init__(self, dim, heads, kv_heads):
        super().__init__()
        self.heads, self.kv_heads = heads, kv_heads
        self.head_dim = dim // heads
        self.q_proj = nn.Linear(dim, heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(dim, kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(dim, kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(heads * self.head_dim, dim, bias=False)

    def forward(self, x, cos, sin):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        # GQA: query head h uses KV head h // (heads / kv_heads), hence repeat_interleave.
        group = self.heads // self.kv_heads
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.o_proj(out.transpose(1, 2).reshape(b, t, -1))


class MLP(nn.Module):
    def __init__(self, dim, ffn):
        super().__init__()
        self.gate_proj = nn.Linear(dim, ffn, bias=False)
        self.up_proj = nn.Linear(dim, ffn, bias=False)
        self.down_proj = nn.Linear(ffn, dim, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, dim, heads, kv_heads, ffn):
        super().__init__()
        self.input_layernorm = RMSNorm(dim)
        self.self_attn = Attention(dim, heads, kv_heads)
        self.post_attention_layernorm = RMSNorm(dim)
        self.mlp = MLP(dim, ffn)

    def forward(self, x, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class Decoder(nn.Module):
    def __init__(self, args):
        super().__init__()
        self.embed_tokens = nn.Embedding(args.vocab, args.dim)
        self.layers = nn.ModuleList(
            Block(args.dim, args.heads, args.kv_heads, args.ffn) for _ in range(args.layers))
        self.norm = RMSNorm(args.dim)
        cos, sin = rope_tables(args.seq, args.dim // args.heads, args.rope_theta)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, tokens):
        t = tokens.shape[1]
        cos, sin = self.cos[:t], self.sin[:t]
        h = self.embed_tokens(tokens)
        for layer in self.layers:
            h = layer(h, cos, sin)
        # Tied output head: logits = h @ embed.T
        logits = self.norm(h) @ self.embed_tokens.weight.T
        vocab = logits.shape[-1]
        # Next-token prediction, mean over the B*(T-1) positions that have a target.
        return F.cross_entropy(logits[:, :-1].reshape(-1, vocab), tokens[:, 1:].reshape(-1))


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    model = Decoder(args)
    params = sum(p.numel() for p in model.parameters())  # the tied embedding counts once
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)
    tokens = torch.randint(0, args.vocab, (args.batch, args.seq),
                           generator=torch.Generator().manual_seed(args.seed + 1))
    print(f"torch {torch.__version__}, threads={torch.get_num_threads()}, "
          f"params={params / 1e6:.2f}M", file=sys.stderr)

    step_times = []
    for i in range(args.warmup + args.steps):
        start = time.perf_counter()
        loss = model(tokens)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        elapsed = time.perf_counter() - start
        timed = i >= args.warmup
        if timed:
            step_times.append(elapsed)
        print(f"step {i} {'timed' if timed else 'warmup'}: loss={loss.item():.4f} "
              f"time={elapsed:.3f}s", file=sys.stderr)
        if not math.isfinite(loss.item()):
            sys.exit("loss is not finite")

    tokens_per_step = args.batch * args.seq
    step_median = statistics.median(step_times)
    result = {
        "name": "train decoder",
        "tokens_per_s_best": round(tokens_per_step / min(step_times), 2),
        "tokens_per_s_median": round(tokens_per_step / step_median, 2),
        "step_s_median": round(step_median, 4),
        # ru_maxrss is in KiB on Linux.
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "params": params,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "layers": args.layers,
        "dim": args.dim,
        "heads": args.heads,
        "kv_heads": args.kv_heads,
        "ffn": args.ffn,
        "vocab": args.vocab,
        "seq": args.seq,
        "batch": args.batch,
        "rope_theta": args.rope_theta,
        "steps": args.steps,
        "warmup": args.warmup,
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
