"""Load the adapters package train trained and saved (testdata/train/trained/*, written by
`go test ./train -run TestTrainedInLibrary -args -update-trained`) into the real `adapters`
library, unchanged, and record the library's logits on a fixed batch in
testdata/train/trained/check.json, which TestTrainedInLibrary compares with our runtime's
(<= 1e-4).

    HF_HUB_OFFLINE=1 tools/reference/.venv/bin/python tools/reference/check_trained.py

Each directory is loaded with load_adapter (use_safetensors=True when it holds
adapter.safetensors, the library's default .bin otherwise) into a fresh BertAdapterModel of the
tiny model, with its head, and activated by name. The script fails if a file does not load or
a weight goes unused. Never edit check.json by hand.
"""

import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402

from adapters import BertAdapterModel  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from sentences import SENTENCES  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
TINY = os.path.join(ROOT, "testdata", "tiny", "model")
TRAINED = os.path.join(ROOT, "testdata", "train", "trained")


def main():
    torch.set_num_threads(1)
    tok = AutoTokenizer.from_pretrained(TINY)
    enc = tok(SENTENCES[:6], padding=True, truncation=True, max_length=16, return_tensors="pt")
    out = {"input_ids": enc["input_ids"].tolist(), "attention_mask": enc["attention_mask"].tolist(), "cases": {}}
    for case in sorted(os.listdir(TRAINED)):
        d = os.path.join(TRAINED, case)
        if not os.path.isdir(d):
            continue
        st = os.path.exists(os.path.join(d, "adapter.safetensors"))
        model = BertAdapterModel.from_pretrained(TINY, attn_implementation="eager").eval()
        name = model.load_adapter(d, use_safetensors=st)
        model.set_active_adapters(name)
        assert name in model.heads, f"{case}: no head loaded"
        with open(os.path.join(d, "adapter_config.json")) as f:
            version = json.load(f)["version"]
        with torch.no_grad():
            logits = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits
        out["cases"][case] = {"format": "safetensors" if st else "bin", "version": version, "logits": logits.tolist()}
        print(case, "safetensors" if st else "bin", tuple(logits.shape))
    with open(os.path.join(TRAINED, "check.json"), "w") as f:
        json.dump(out, f, sort_keys=True, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
