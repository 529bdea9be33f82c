"""Adapters saved by adapter-transformers 3.2.1, the library the Hub's `pf` adapters were saved with.

Writes testdata/at3/:
  adapters/<name>/   save_adapter's directory as 3.2.1 writes it (adapter_config.json,
                     pytorch_adapter.bin, head_config.json, pytorch_model_head.bin), for the real
                     all-MiniLM-L6-v2 loaded as BertModelWithHeads, the class the Hub's pf adapters
                     name (e.g. AdapterHub/bert-base-uncased-pf-imdb's adapter_config.json)
  golden/<name>.json the library's logits on the fixed sentences (sentences.py), padded batch,
                     truncated at MiniLM's 256 tokens, in testdata/minilm/golden's format
  ah/index/sentence-transformers/all-MiniLM-L6-v2.json
                     an AdapterHub index for them in the archived Hub's layout
                     (task -> subtask -> {config hash: {"versions": {org: entry}}, "default": entry}),
                     config hashes by 3.2.1's get_adapter_config_hash of each saved config; the
                     entries name the repositories AdapterHub/minilm-pf-<name> (adapters 1.x's
                     pull_from_hub: "AdapterHub/" + basename(entry).split(".")[0])

Each adapter's and head's weights are perturbed (seeded): the default init is near-identity, and
the goldens must show that the adapter, not only its head, is read. The script asserts that each
adapter moves the logits by more than 0.1 (and by a tenth of the largest logit) against the same
head without it, and that each saved directory
loads back with load_adapter and reproduces its golden logits.

adapter-transformers 3.2.1's save_adapter writes only the pickle (.bin): it has no safetensors
option (that came with the `adapters` library); the script asserts it wrote no safetensors file.

Run: tools/reference/.venv-at3/bin/python tools/reference/make_at3.py [MINILM_DIR]
(venv: python3 -m venv tools/reference/.venv-at3 && .venv-at3/bin/pip install -r
tools/reference/requirements-at3.txt). MINILM_DIR defaults to $ADAPTERWASM_MINILM_DIR, else
.cache/models/all-MiniLM-L6-v2.
"""

import json
import os
import shutil
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from sentences import SENTENCES  # noqa: E402

import transformers  # noqa: E402
from transformers import AutoTokenizer, BertModelWithHeads  # noqa: E402
from transformers.adapters import LoRAConfig, PfeifferConfig  # noqa: E402
from transformers.adapters.utils import get_adapter_config_hash  # noqa: E402

OUT = os.path.join(ROOT, "testdata", "at3")
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MAX_LENGTH = 256  # MiniLM's (sentence_bert_config.json), which the Go runtime and the JS package apply
LIBRARY = f"adapter-transformers {transformers.adapters.__version__}"

# name -> how it is saved. task/subtask: its place in the AdapterHub index.
ADAPTERS = {
    # The pf way: pfeiffer (seq_bn) + a 2-layer tanh classification head (rf 64 to stay small).
    "imdb": dict(config=PfeifferConfig(reduction_factor=64), labels=["neg", "pos"], layers=2, seed=1, task="sentiment", subtask="imdb"),
    # pfeiffer at rf 128, leaving out layer 0, a 1-layer head with 3 labels.
    "topic": dict(config=PfeifferConfig(reduction_factor=128, leave_out=[0]), labels=["business", "sports", "world"], layers=1, seed=2, task="topic", subtask="news"),
    # LoRA as 3.2.1 saves it (architecture "lora"), q and v, r 4, a 1-layer head.
    "lora": dict(config=LoRAConfig(r=4, alpha=8), labels=["negative", "positive"], layers=1, seed=3, task="sentiment", subtask="lora"),
}


def f32(x):
    """A float32 as the shortest decimal that round-trips to the same float32."""
    return [float(f"{v:.9g}") for v in np.asarray(x, dtype=np.float32).reshape(-1)]


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def new_model(mdir):
    model = BertModelWithHeads.from_pretrained(mdir)
    # adapter_config.json / head_config.json record model.model_name as model_name, which 3.2.1 sets
    # only when name_or_path is not a local path: the hub id, as the Hub's adapters record it
    model.config.name_or_path = MODEL_NAME
    model.model_name = MODEL_NAME
    model.base_model.model_name = MODEL_NAME
    return model.eval()


def logits_of(model, enc):
    with torch.no_grad():
        return model(**enc).logits


def main():
    mdir = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ADAPTERWASM_MINILM_DIR") or os.path.join(ROOT, ".cache", "models", "all-MiniLM-L6-v2")
    tok = AutoTokenizer.from_pretrained(mdir)
    enc = tok(SENTENCES, padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt")
    enc = {k: v for k, v in enc.items() if k in ("input_ids", "attention_mask", "token_type_ids")}
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    index = {}
    for name, spec in ADAPTERS.items():
        torch.manual_seed(spec["seed"])
        model = new_model(mdir)
        model.add_adapter(name, config=spec["config"])
        labels = spec["labels"]
        model.add_classification_head(name, num_labels=len(labels), layers=spec["layers"], id2label=dict(enumerate(labels)))
        g = torch.Generator().manual_seed(100 + spec["seed"])
        with torch.no_grad():
            for pname, p in model.named_parameters():
                if f".adapters.{name}." in pname or f".loras.{name}." in pname:
                    p.copy_(torch.randn(p.shape, generator=g) * 0.2)
                elif pname.startswith(f"heads.{name}."):  # logits of order 1, labels that vary
                    p.copy_(torch.randn(p.shape, generator=g) * 0.1)
        model.set_active_adapters(name)
        model.eval()
        want = logits_of(model, enc)
        # the same head without the adapter: the adapter must matter
        model.set_active_adapters(None)
        model.active_head = name
        effect = float((logits_of(model, enc) - want).abs().max())
        assert effect > 0.1 and effect > 0.1 * float(want.abs().max()), (name, effect, float(want.abs().max()))
        model.set_active_adapters(name)

        d = os.path.join(OUT, "adapters", name)
        os.makedirs(d)
        model.save_adapter(d, name)
        files = sorted(os.listdir(d))
        assert files == ["adapter_config.json", "head_config.json", "pytorch_adapter.bin", "pytorch_model_head.bin"], files
        cfg = json.load(open(os.path.join(d, "adapter_config.json")))
        assert cfg["model_class"] == "BertModelWithHeads" and cfg["model_name"] == MODEL_NAME, cfg

        # reloaded by the library into a fresh model: the same logits
        fresh = new_model(mdir)
        loaded = fresh.load_adapter(d)
        assert loaded == name, loaded
        fresh.set_active_adapters(name)
        fresh.eval()
        back = float((logits_of(fresh, enc) - want).abs().max())
        assert back < 1e-6, (name, back)

        n = enc["attention_mask"].sum(1).tolist()
        write_json(os.path.join(OUT, "golden", name + ".json"), {
            "library": LIBRARY,
            "adapter": f"adapters/{name}",
            "head": name,
            "labels": labels,
            "max_length": MAX_LENGTH,
            "sentences": SENTENCES,
            "input_ids": enc["input_ids"].tolist(),
            "attention_mask": enc["attention_mask"].tolist(),
            "lengths": n,
            "logits": [f32(r) for r in want],
            "predicted": [labels[i] for i in want.argmax(-1).tolist()],
            "adapter_effect": effect,
        })
        h = get_adapter_config_hash(model.config.adapters.get(name))
        entry = f"adapters/ukp/minilm-pf-{name}.json"
        index.setdefault(spec["task"], {})[spec["subtask"]] = {h: {"versions": {"ukp": entry}}, "default": entry}
        size = sum(os.path.getsize(os.path.join(d, f)) for f in files)
        print(f"{name}: {size} bytes, adapter effect {effect:.3g}, reloaded max|diff| {back:.3g}, config hash {h}")
    write_json(os.path.join(OUT, "ah", "index", MODEL_NAME + ".json"), index)
    total = sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(OUT) for f in fs)
    print(f"testdata/at3: {total} bytes ({LIBRARY}, torch {torch.__version__})")
    assert total < 1_500_000, total


if __name__ == "__main__":
    main()
