"""Checks a LoRA adapter written by `zerosearch train` against Hugging Face PEFT:
PEFT loads the adapter onto the base model (exported by `zerosearch models export`)
and its logits must equal those of our merged export (`models export --adapter`).

Usage: python3 scripts/reference/check_peft_adapter.py BASE_HF_FOLDER ADAPTER_FOLDER MERGED_HF_FOLDER
"""
import sys

import torch
from peft import PeftModel
from transformers import AutoModelForCausalLM

base_folder, adapter_folder, merged_folder = sys.argv[1:4]
ids = torch.tensor([[1, 504, 3458, 282, 4649, 314, 253, 3240, 30, 198, 1348, 42, 2]])
with torch.no_grad():
    base = AutoModelForCausalLM.from_pretrained(base_folder, torch_dtype=torch.float32)
    plain = base(ids).logits
    adapted = PeftModel.from_pretrained(base, adapter_folder)(ids).logits
    merged = AutoModelForCausalLM.from_pretrained(merged_folder, torch_dtype=torch.float32)(ids).logits
change = (adapted - plain).abs().max().item()
error = ((adapted - merged).abs().max() / adapted.abs().max()).item()
print(f"adapter changes the logits by up to {change:.3e}; PEFT vs our merge: max relative difference {error:.2e}")
if change == 0 or error > 1e-4:
    sys.exit(1)
