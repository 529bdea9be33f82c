"""Regenerate testdata/train: what the real `adapters` library computes when it trains an adapter,
for package train to match.

Run from the repository root with the pinned venv (MiniLM from `./build.sh model`):

    HF_HUB_OFFLINE=1 tools/reference/.venv/bin/python tools/reference/make_train.py [MINILM_DIR]

For every case (a model, an adapter config string, a head) it writes testdata/train/<model>/<case>.json
(the config the library resolved, the head, the fixed batches with their labels, the loss of every
step) and <case>.safetensors with, for every trainable parameter under its checkpoint name:

    init/<name>   the library's initialisation: add_adapter with init_weights_seed in the config,
                  and torch.manual_seed(HEAD_SEED) right before add_*_head
    grad/<name>   autograd's gradient of the head's loss on batch 0 at init
    step/<name>   the weights after STEPS steps of torch.optim.AdamW (defaults but lr) over the
                  batches in order (batch s % len(batches) at step s)

The model runs in eval mode (no dropout) with eager attention; only the adapter's and the head's
parameters require gradients (train_adapter freezes the rest). Everything is seeded; running it
twice gives the same files. Never edit the outputs by hand: change this script and rerun it.
"""

import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
from transformers import AutoTokenizer  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

import adapters  # noqa: E402
from adapters import AutoAdapterModel, BertAdapterModel  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from sentences import SENTENCES  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "testdata", "train")
TINY = os.path.join(ROOT, "testdata", "tiny", "model")

HEAD_SEED = 7
ADAPTER_SEED = 42
STEPS = 5
BATCH = 4

# name -> (config string, head type, labels, head kwargs, lr)
TINY_CASES = [
    ("seq_bn", "seq_bn[reduction_factor=4,init_weights_seed=42]", "classification", ["neg", "neu", "pos"], {}, 1e-2),
    (
        "lora",
        "lora[r=4,alpha=8,attn_matrices=['q','k','v'],intermediate_lora=True,output_lora=True,init_weights='bert',init_weights_seed=42]",
        "classification",
        ["a", "b"],
        {},
        1e-2,
    ),
    ("lora_default", "lora[r=4,alpha=8,init_weights_seed=42]", "classification", ["a", "b"], {}, 1e-2),
    ("ia3", "ia3[init_weights_seed=42]", "classification", ["a", "b", "c"], {}, 1e-2),
    (
        "double_seq_bn",
        "double_seq_bn[reduction_factor=4,init_weights_seed=42]",
        "classification",
        ["x", "y"],
        {"use_pooler": True},
        1e-2,
    ),
    ("par_bn", "par_bn[reduction_factor=4,init_weights_seed=42]", "multilabel_classification", ["p", "q", "r", "s"], {}, 1e-2),
    (
        "seq_bn_nores",
        "seq_bn[reduction_factor=8,residual_before_ln=False,non_linearity='gelu',init_weights_seed=42]",
        "classification",
        ["a", "b"],
        {"layers": 1},
        1e-2,
    ),
]

# The tiny RoBERTa, XLM-R and DistilBERT bases of testdata/archs (make_archs.py): the cases whose
# parameters sit elsewhere in each (roberta.encoder.layer.N…, distilbert.transformer.layer.N.
# output_adapters…, ….attention.q_lin.loras…) and whose model_class differs, with the tiny
# model's seeds; a 1-layer head, reduction factor 8 and LoRA rank 1 keep the files small. Written to
# testdata/train/<arch>/.
ARCHS = ["roberta", "xlm-roberta", "distilbert"]
ARCH_CASES = [
    ("seq_bn", "seq_bn[reduction_factor=8,init_weights_seed=42]", "classification", ["neg", "neu", "pos"], {"layers": 1}, 1e-2),
    (
        "lora",
        "lora[r=1,alpha=2,attn_matrices=['q','k','v'],intermediate_lora=True,output_lora=True,init_weights='bert',init_weights_seed=42]",
        "classification",
        ["a", "b"],
        {"layers": 1},
        1e-2,
    ),
    ("ia3", "ia3[init_weights_seed=42]", "classification", ["a", "b", "c"], {"layers": 1}, 1e-2),
]
# double_seq_bn puts a module at the attention's residual too (DistilBERT: attention_adapters);
# on RoBERTa with the pooler (XLM-R shares RoBERTa's layout and pooler). rf 16 for size.
# XLM-R's IA3 is RoBERTa's (the same layout and sites), left out to keep testdata/train small.
ARCH_SKIP = {"xlm-roberta": {"ia3"}}
ARCH_EXTRA = {
    "roberta": [("double_seq_bn", "double_seq_bn[reduction_factor=16,init_weights_seed=42]", "classification", ["x", "y"],
                 {"layers": 1, "use_pooler": True}, 1e-2)],
    "distilbert": [("double_seq_bn", "double_seq_bn[reduction_factor=16,init_weights_seed=42]", "classification", ["x", "y"],
                    {"layers": 1}, 1e-2)],
}

MINILM_CASES = [
    ("seq_bn", "seq_bn[reduction_factor=64,init_weights_seed=42]", "classification", ["negative", "positive"], {"layers": 1}, 1e-3),
    ("lora", "lora[r=2,alpha=4,init_weights='bert',init_weights_seed=42]", "classification", ["negative", "positive"], {"layers": 1}, 1e-3),
]


def batches(tok, n, max_length, head_type, labels, seed):
    g = torch.Generator().manual_seed(seed)
    out = []
    for s in range(n):
        texts = [SENTENCES[(BATCH * s + i) % len(SENTENCES)] for i in range(BATCH)]
        enc = tok(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        if head_type == "multilabel_classification":
            y = (torch.rand(BATCH, len(labels), generator=g) > 0.5).to(torch.int64)
        else:
            y = torch.randint(0, len(labels), (BATCH,), generator=g)
        out.append(
            {
                "input_ids": enc["input_ids"].tolist(),
                "attention_mask": enc["attention_mask"].tolist(),
                "labels": y.tolist(),
            }
        )
    return out


def to_tensors(b, head_type):
    ids = torch.tensor(b["input_ids"])
    mask = torch.tensor(b["attention_mask"])
    y = torch.tensor(b["labels"])
    if head_type == "multilabel_classification":
        y = y.to(torch.float32)
    return ids, mask, y


def run_case(model_dir, out_dir, name, config, head_type, labels, head_kw, lr, max_length, tok, model_cls=BertAdapterModel):
    torch.manual_seed(0)
    model = model_cls.from_pretrained(model_dir, attn_implementation="eager")
    model.add_adapter(name, config=config)
    torch.manual_seed(HEAD_SEED)
    id2label = {i: l for i, l in enumerate(labels)}
    kw = dict(head_kw)
    if head_type == "classification":
        model.add_classification_head(name, num_labels=len(labels), id2label=id2label, **kw)
    else:
        model.add_classification_head(name, num_labels=len(labels), id2label=id2label, multilabel=True, **kw)
    model.train_adapter(name)
    model.set_active_adapters(name)
    model.eval()  # no dropout
    assert str(model.active_adapters) == f"Stack[{name}]", model.active_adapters
    for n, p in model.named_parameters():
        p.requires_grad_(f".{name}." in n and ("adapters." in n or "loras." in n or n.startswith("heads.")))
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    tensors = {}
    for n, p in params:
        tensors["init/" + n] = p.detach().clone().contiguous()

    bs = batches(tok, STEPS, max_length, head_type, labels, seed=len(name) + 100)
    ids, mask, y = to_tensors(bs[0], head_type)
    out = model(input_ids=ids, attention_mask=mask, labels=y)
    logits0 = out.logits.detach().tolist()
    loss0 = out.loss.item()
    out.loss.backward()
    for n, p in params:
        tensors["grad/" + n] = p.grad.detach().clone().contiguous()
    model.zero_grad()

    opt = torch.optim.AdamW([p for _, p in params], lr=lr)
    losses = []
    for s in range(STEPS):
        ids, mask, y = to_tensors(bs[s % len(bs)], head_type)
        out = model(input_ids=ids, attention_mask=mask, labels=y)
        losses.append(out.loss.item())
        out.loss.backward()
        opt.step()
        opt.zero_grad()
    for n, p in params:
        tensors["step/" + n] = p.detach().clone().contiguous()

    cfg = model.adapters_config.get(name).to_dict()
    head_cfg = model.heads[name].config
    g = {
        "name": name,
        "config_string": config,
        "config": cfg,
        "head": head_cfg,
        "labels": labels,
        "lr": lr,
        "optimizer": "torch.optim.AdamW(lr=lr) defaults: betas (0.9, 0.999), eps 1e-8, weight_decay 0.01",
        "adapter_seed": ADAPTER_SEED,
        "head_seed": HEAD_SEED,
        "steps": STEPS,
        "batches": bs,
        "loss0": loss0,
        "logits0": logits0,
        "losses": losses,
        "params": [n for n, _ in params],
        "model_class": model.__class__.__name__,
        "versions": {"adapters": adapters.__version__, "torch": torch.__version__},
    }
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(g, f, sort_keys=True, separators=(",", ":"))
        f.write("\n")
    save_file(tensors, os.path.join(out_dir, name + ".safetensors"))
    print(name, "loss0", loss0, "losses", losses, "params", sum(p.numel() for _, p in params))


def main():
    torch.set_num_threads(1)
    tok = AutoTokenizer.from_pretrained(TINY)
    for c in TINY_CASES:
        run_case(TINY, os.path.join(OUT, "tiny"), *c, max_length=16, tok=tok)
    import make_archs  # the tokenizers testdata/archs was made with

    for arch in ARCHS:
        spec = make_archs.ARCHS[arch]
        atok = spec["tok"](os.path.join(ROOT, "testdata", "archs", arch, "model", "tokenizer.json"))
        for c in ARCH_CASES + ARCH_EXTRA.get(arch, []):
            if c[0] in ARCH_SKIP.get(arch, ()):
                continue
            run_case(os.path.join(ROOT, "testdata", "archs", arch, "model"), os.path.join(OUT, arch), *c,
                     max_length=16, tok=atok, model_cls=AutoAdapterModel)
    mdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".cache", "models", "all-MiniLM-L6-v2")
    if os.path.isdir(mdir):
        tok = AutoTokenizer.from_pretrained(mdir)
        for c in MINILM_CASES:
            run_case(mdir, os.path.join(OUT, "minilm"), *c, max_length=24, tok=tok)
    else:
        print("no MiniLM at", mdir, "- skipped its cases")


if __name__ == "__main__":
    main()
