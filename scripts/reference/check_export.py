"""Checks that `zerosearch models export` of a GGUF file is a standard Hugging
Face checkpoint: transformers loads the folder (weights, config, tokenizer)
and gives the same logits as transformers' own reading of the GGUF, and the
exported tokenizer.json, loaded by Hugging Face `tokenizers`, encodes every
golden string of Tests/TokenizersTests/Fixtures/smollm2_golden.json to its
expected ids (SmolLM2's own pre-tokenizer; transformers' GGUF converter
differs from it on a few strings, listed in that fixture).

    python3 scripts/reference/check_export.py MODEL.gguf EXPORTED_FOLDER
"""
import json, sys
from pathlib import Path
import torch
from tokenizers import Tokenizer
from transformers import AutoModelForCausalLM, AutoTokenizer

gguf, folder = Path(sys.argv[1]), Path(sys.argv[2])
reference_tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
exported_tok = AutoTokenizer.from_pretrained(str(folder))
raw = Tokenizer.from_file(str(folder / "tokenizer.json"))
cases = json.load(open("Tests/TokenizersTests/Fixtures/smollm2_golden.json"))["cases"]
mismatches = [c["text"] for c in cases if raw.encode(c["text"], add_special_tokens=False).ids != c["ids"]]
print(f"tokenizer.json: {len(cases) - len(mismatches)}/{len(cases)} golden strings encode to the expected ids")
chat = [{"role": "user", "content": "What is the capital of France?"}]
same_chat = exported_tok.apply_chat_template(chat, add_generation_prompt=True) == reference_tok.apply_chat_template(chat, add_generation_prompt=True)
print(f"chat template renders identically: {same_chat}")
ids = torch.tensor([reference_tok.encode("The quick brown fox jumps over the lazy dog. 12345")])
with torch.no_grad():
    a = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)(ids).logits
    b = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)(ids).logits
gap = (a - b).abs().max().item()
print(f"logits: max |Δ| = {gap:.3g} (max |logit| {a.abs().max().item():.3g})")
sys.exit(0 if not mismatches and same_chat and gap < 1e-3 else 1)
