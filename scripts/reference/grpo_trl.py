#!/usr/bin/env python3
"""Reference GRPO step: Hugging Face TRL's GRPOTrainer on CPU, the work `zerosearch bench rl` times.

One step = 8 prompts x 4 completions of at most 128 new tokens (sampling at
temperature 1, top-p 1), answer-F1 rewards, then one optimizer step over the 32
completions in 4 micro-batches of 8, LoRA (rank 8, alpha 16) on every attention
and MLP projection, KL coefficient (beta) 0.001 against the adapter-free model.
The model is a Hugging Face folder (`zerosearch models export`, f32). Gradient
checkpointing is off unless --gradient-checkpointing (TRL's default turns it on,
which saves memory and costs a second forward pass).
Prints one JSON line on stdout: the timed steps' seconds, generated tokens and
peak RSS; progress goes to stderr.
"""
import argparse
import json
import os
import re
import resource
import statistics
import sys
import tempfile
import time

# The installed torch is a CUDA build; hide every device so all work is on CPU.
os.environ["CUDA_VISIBLE_DEVICES"] = ""
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402

# Our answer scorer, written out in Python for its golden tests: the same F1 both sides reward.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from make_answer_golden import scores  # noqa: E402


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", required=True, help="Hugging Face model folder")
    p.add_argument("--questions", required=True, help="NQ-open JSONL (question, answer)")
    p.add_argument("--template", required=True, help="prompt with {question}")
    p.add_argument("--prompts", type=int, default=8)
    p.add_argument("--group", type=int, default=4)
    p.add_argument("--max-new-tokens", type=int, default=128)
    p.add_argument("--lora-rank", type=int, default=8)
    p.add_argument("--lora-alpha", type=float, default=16)
    p.add_argument("--lr", type=float, default=1e-5)
    p.add_argument("--beta", type=float, default=0.001)
    p.add_argument("--steps", type=int, default=3, help="timed steps")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--gradient-checkpointing", action="store_true", help="TRL's default")
    return p.parse_args()


def answer_f1(completions, answers, **_):
    """The agent's reward: F1 of the last <answer> element against the best gold answer (0 without one)."""
    rewards = []
    for completion, golds in zip(completions, answers):
        text = completion[0]["content"] if isinstance(completion, list) else completion
        found = re.findall(r"<answer>(.*?)</answer>", text, flags=re.DOTALL)
        rewards.append(scores(found[-1] if found else None, golds)["f1"])
    return rewards


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    import transformers
    import trl
    import peft
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback

    count = args.prompts * (args.steps + args.warmup)
    rows = []
    with open(args.questions) as f:
        for line in f:
            if len(rows) == count:
                break
            item = json.loads(line)
            rows.append({
                "prompt": [{"role": "user", "content": args.template.replace("{question}", item["question"])}],
                "answers": item["answer"],
            })
    dataset = Dataset.from_list(rows)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model = AutoModelForCausalLM.from_pretrained(args.model, torch_dtype=torch.float32)

    class Clock(TrainerCallback):
        def __init__(self):
            self.seconds, self.lengths = [], []

        def on_step_begin(self, *_, **__):
            self.start = time.perf_counter()

        def on_step_end(self, *_, **__):
            self.seconds.append(time.perf_counter() - self.start)
            print(f"trl step {len(self.seconds)}: {self.seconds[-1]:.1f} s", file=sys.stderr, flush=True)

        def on_log(self, _args, _state, _control, logs=None, **__):
            if logs and "completions/mean_length" in logs:
                self.lengths.append(logs["completions/mean_length"])

    clock = Clock()
    config = trl.GRPOConfig(
        output_dir=tempfile.mkdtemp(prefix="zerosearch-trl-"),
        per_device_train_batch_size=args.prompts,
        gradient_accumulation_steps=args.group,
        num_generations=args.group,
        max_completion_length=args.max_new_tokens,
        temperature=1.0,
        top_p=1.0,
        learning_rate=args.lr,
        lr_scheduler_type="constant",
        beta=args.beta,
        max_steps=args.steps + args.warmup,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        bf16=False,
        gradient_checkpointing=args.gradient_checkpointing,
        dataloader_num_workers=0,
        seed=0,
    )
    lora = peft.LoraConfig(
        r=args.lora_rank, lora_alpha=args.lora_alpha, lora_dropout=0.0, task_type="CAUSAL_LM",
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    trainer = trl.GRPOTrainer(
        model=model, reward_funcs=answer_f1, args=config, train_dataset=dataset, processing_class=tokenizer,
        peft_config=lora)
    trainer.add_callback(clock)
    trainer.train()
    timed = clock.seconds[args.warmup:]
    lengths = clock.lengths[args.warmup:]
    completions = args.prompts * args.group
    print(json.dumps({
        "step_seconds": [round(s, 3) for s in timed],
        "median_seconds": round(statistics.median(timed), 3),
        "generated_tokens": [round(m * completions) for m in lengths],
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "versions": {"trl": trl.__version__, "torch": torch.__version__, "transformers": transformers.__version__,
                     "peft": peft.__version__},
        "threads": torch.get_num_threads(),
        "gradient_checkpointing": args.gradient_checkpointing,
    }))


if __name__ == "__main__":
    main()
