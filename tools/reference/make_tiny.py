"""Regenerate testdata/tiny: a tiny random BERT, adapters saved by the real `adapters` library,
and golden outputs (hidden states, adapter/composition logits).

Run from the repository root with the pinned venv:

    HF_HUB_OFFLINE=1 tools/reference/.venv/bin/python tools/reference/make_tiny.py

Everything is seeded; running it twice gives byte-identical JSON and safetensors files.
The script checks, before it finishes, that
  * every adapter/composition moves the logits by more than MIN_EFFECT vs. the bare model + the same head,
  * every saved adapter directory (.bin and safetensors copies) loads back into a fresh model with
    `load_adapter` / `load_adapter_fusion` and reproduces the golden logits (max abs diff < 1e-5).
Never edit the outputs by hand: change this script and rerun it.
"""

import json
import logging
import os
import shutil
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import BertConfig, BertModel, BertTokenizerFast  # noqa: E402

import adapters  # noqa: E402
from adapters import (  # noqa: E402
    BertAdapterModel,
    BnConfig,
    DoubleSeqBnConfig,
    IA3Config,
    LoRAConfig,
    ParBnConfig,
    PrefixTuningConfig,
    SeqBnConfig,
)
from adapters.loading import PredictionHeadLoader  # noqa: E402
from safetensors.torch import save_file  # noqa: E402
from adapters.composition import Average, BatchSplit, Fuse, Parallel, Split, Stack  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from sentences import SENTENCES  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "testdata", "tiny")
MODEL_DIR = os.path.join(OUT, "model")
ADAPTERS_DIR = os.path.join(OUT, "adapters")
ADAPTERS_ST_DIR = os.path.join(OUT, "adapters_st")
GOLDEN_DIR = os.path.join(OUT, "golden")
TOKENIZER_JSON = os.path.join(MODEL_DIR, "tokenizer.json")

MAX_LENGTH = 48
MODEL_SEED = 1234
NOISE_STD = 0.3  # perturbation added to every adapter/head/fusion parameter after creation
MIN_EFFECT = 1e-2  # every case must move the logits at least this much vs. bare model + head
RELOAD_TOL = 1e-5

LABELS3 = ["negative", "neutral", "positive"]
LABELS4 = ["spam", "finance", "food", "travel"]
LABELS5 = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]

MODEL_NAME = "adapterwasm/tiny-bert"  # stable "model_name" in the saved configs (default: the load path)
FUSION_NAME = "seq_bn,seq_bn_b"  # Fuse(seq_bn, seq_bn_b).name

# name -> (adapter config, head spec). Order matters only for seeding; it is fixed.
ADAPTERS = [
    ("seq_bn", SeqBnConfig(reduction_factor=4), ("classification", LABELS3, {})),
    ("seq_bn_b", SeqBnConfig(reduction_factor=8, non_linearity="gelu"), ("classification", LABELS3, {})),
    ("double_seq_bn", DoubleSeqBnConfig(reduction_factor=4), ("classification", LABELS3, {"use_pooler": True})),
    ("par_bn", ParBnConfig(reduction_factor=4), ("multilabel_classification", LABELS4, {})),
    (
        "bn_custom",
        BnConfig(
            mh_adapter=True,
            output_adapter=True,
            reduction_factor=8,
            non_linearity="gelu",
            original_ln_before=True,
            original_ln_after=True,
            ln_before=True,
            ln_after=True,
            residual_before_ln=False,
            adapter_residual_before_ln=True,
            scaling="learned",
        ),
        ("tagging", LABELS5, {}),
    ),
    ("lora_qv", LoRAConfig(r=4, alpha=8, attn_matrices=["q", "v"]), ("classification", LABELS3, {})),
    (
        "lora_full",
        LoRAConfig(r=4, alpha=16, attn_matrices=["q", "k", "v"], intermediate_lora=True, output_lora=True),
        ("classification", LABELS3, {}),
    ),
    ("ia3", IA3Config(), ("classification", LABELS3, {})),
    ("prefix", PrefixTuningConfig(prefix_length=8, bottleneck_size=64), ("classification", LABELS3, {})),
]
HEAD_OF = {name: head for name, _, head in ADAPTERS}


def tolist(t):
    """Nested lists of Python floats; float(float32) is exact and json writes its shortest repr."""
    return t.detach().to(torch.float32).cpu().tolist()


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, sort_keys=False, separators=(",", ":"))
        f.write("\n")


def add_head(model, name, spec):
    kind, labels, extra = spec
    id2label = {i: l for i, l in enumerate(labels)}
    if kind == "classification":
        model.add_classification_head(
            name, num_labels=len(labels), layers=2, activation_function="tanh", id2label=id2label, **extra
        )
    elif kind == "multilabel_classification":
        model.add_classification_head(
            name,
            num_labels=len(labels),
            layers=2,
            activation_function="tanh",
            multilabel=True,
            id2label=id2label,
            **extra,
        )
    elif kind == "tagging":
        model.add_tagging_head(name, num_labels=len(labels), layers=1, id2label=id2label, **extra)
    else:
        raise ValueError(kind)


def perturb(model, component, seed):
    """Adds seeded N(0, NOISE_STD) noise to every parameter whose dotted name has `component` as one part."""
    g = torch.Generator().manual_seed(seed)
    n = 0
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if component in pname.split("."):
                p.add_(torch.randn(p.shape, generator=g, dtype=torch.float32) * NOISE_STD)
                n += 1
    if n == 0:
        raise RuntimeError(f"no parameters found for {component}")
    return n


SAFETENSORS_WORKAROUND = []  # adapters whose safetensors copy the library itself cannot write


def save_adapter_safetensors(model, st_dir, name, bin_dir):
    """save_adapter(..., use_safetensors=True); falls back for adapters the library cannot save that way.

    With ln_before=True the adapter's LayerNorm is registered twice (`adapter_norm_before` and
    `adapter_down.0` are the same module), so the state dict holds tensors that share memory and
    safetensors.save_file refuses them (adapters 1.3.0 raises RuntimeError). The fallback writes the
    same key set the .bin has, with each shared tensor stored under both names (copies), no
    __metadata__ (as the library writes), plus the library's own config and head files.
    """
    try:
        model.save_adapter(st_dir, name, with_head=True, use_safetensors=True)
        return
    except RuntimeError as e:
        if "share memory" not in str(e):
            raise
    SAFETENSORS_WORKAROUND.append(name)
    sd = torch.load(os.path.join(bin_dir, "pytorch_adapter.bin"), map_location="cpu", weights_only=True)
    save_file({k: v.clone().contiguous() for k, v in sd.items()}, os.path.join(st_dir, "adapter.safetensors"))
    PredictionHeadLoader(model, error_on_missing=False, use_safetensors=True).save(st_dir, name)
    assert os.path.exists(os.path.join(st_dir, "adapter_config.json"))


def build_base():
    torch.manual_seed(MODEL_SEED)
    config = BertConfig(
        vocab_size=30522,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        hidden_act="gelu",
        type_vocab_size=2,
        initializer_range=0.2,  # larger than 0.02 so attention patterns and logits are not near-uniform
    )
    model = BertModel(config, add_pooling_layer=True)
    model.eval()
    return model


def tokenizer_and_batch():
    tok = BertTokenizerFast(tokenizer_file=TOKENIZER_JSON, do_lower_case=True)
    enc = tok(SENTENCES, padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt")
    tokens = []
    for s in SENTENCES:
        ids = tok(s, truncation=True, max_length=MAX_LENGTH)["input_ids"]
        tokens.append(tok.convert_ids_to_tokens(ids))
    return tok, enc, tokens


def run(model, batch, setup, head):
    """Runs the adapter model with `setup` active and returns logits (tensor or {head: tensor})."""
    # The library keeps the active head of the previous setup (e.g. a BatchSplit of heads), and
    # an active head overrides forward(head=...): clear it so every case uses its own head.
    model.active_head = None
    model.set_active_adapters(setup)
    with torch.no_grad():
        if isinstance(setup, (Parallel, BatchSplit)):
            out = model(**batch)
            # one output per head, in the block's order (BatchSplit: each head's slice of the batch)
            return {h: o.logits for h, o in zip(list(model.active_head), out.head_outputs)}
        out = model(**batch, head=head)
        return out.logits


def bare(model, batch, heads):
    model.set_active_adapters(None)
    with torch.no_grad():
        return {h: model(**batch, head=h).logits for h in heads}


def maxdiff(a, b):
    if isinstance(a, dict):
        return max(maxdiff(a[k], b[k]) for k in a)
    return float((a - b).abs().max())


def serial(x):
    if isinstance(x, dict):
        return {k: tolist(v) for k, v in x.items()}
    return tolist(x)


def main():
    t0 = time.time()
    # "There are adapters available but none are activated" is expected for the bare-model reference runs.
    logging.getLogger("adapters").setLevel(logging.ERROR)
    transformers.logging.set_verbosity_error()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    for d in (ADAPTERS_DIR, ADAPTERS_ST_DIR, GOLDEN_DIR):
        shutil.rmtree(d, ignore_errors=True)
    for f in ("config.json", "model.safetensors"):
        p = os.path.join(MODEL_DIR, f)
        if os.path.exists(p):
            os.remove(p)

    # 1. tiny random BERT, saved as plain BertModel keys (no "bert." prefix).
    base = build_base()
    base.save_pretrained(MODEL_DIR, safe_serialization=True)

    tok, enc, tokens = tokenizer_and_batch()
    batch = {k: enc[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
    B, T = enc["input_ids"].shape

    with torch.no_grad():
        bo = base(**batch, output_hidden_states=True)
    write_json(
        os.path.join(GOLDEN_DIR, "base.json"),
        {
            "max_length": MAX_LENGTH,
            "sentences": SENTENCES,
            "tokens": tokens,
            "input_ids": enc["input_ids"].tolist(),
            "attention_mask": enc["attention_mask"].tolist(),
            "token_type_ids": enc["token_type_ids"].tolist(),
            "hidden_states": [tolist(h) for h in bo.hidden_states],
            "pooler_output": tolist(bo.pooler_output),
        },
    )

    # 2. adapter model loaded from the saved directory; adapters + heads added and perturbed.
    model = BertAdapterModel.from_pretrained(MODEL_DIR)
    model.config.name_or_path = MODEL_NAME  # written as "model_name" into every config JSON
    model.eval()
    with torch.no_grad():
        check = model.bert(**batch).last_hidden_state
    assert maxdiff(check, bo.last_hidden_state) == 0.0, "BertAdapterModel does not reproduce BertModel"

    for i, (name, cfg, head) in enumerate(ADAPTERS):
        torch.manual_seed(100 + i)
        model.add_adapter(name, config=cfg)
        add_head(model, name, head)
        perturb(model, name, 1000 + i)
    # the fusion layer and its head
    torch.manual_seed(200)
    model.add_adapter_fusion(Fuse("seq_bn", "seq_bn_b"))  # default "dynamic" config
    add_head(model, FUSION_NAME, ("classification", LABELS3, {}))
    perturb(model, FUSION_NAME, 2000)
    model.eval()

    # save every adapter (.bin default and safetensors copy) and the fusion
    os.makedirs(ADAPTERS_DIR)
    os.makedirs(ADAPTERS_ST_DIR)
    for name, _, _ in ADAPTERS:
        model.save_adapter(os.path.join(ADAPTERS_DIR, name), name, with_head=True)
        save_adapter_safetensors(model, os.path.join(ADAPTERS_ST_DIR, name), name, os.path.join(ADAPTERS_DIR, name))
    model.save_adapter_fusion(os.path.join(ADAPTERS_DIR, "fusion"), ["seq_bn", "seq_bn_b"], with_head=True)
    model.save_adapter_fusion(
        os.path.join(ADAPTERS_ST_DIR, "fusion"), ["seq_bn", "seq_bn_b"], with_head=True, use_safetensors=True
    )

    # 3. golden logits
    all_heads = [n for n, _, _ in ADAPTERS] + [FUSION_NAME]
    ref = bare(model, batch, all_heads)

    k = 5  # BatchSplit sizes [k, B-k]
    split_at = 10  # Split sizes [split_at, T-split_at] (along the sequence)
    cases = []  # (case id, setup string, setup, head, adapter names, extra)
    for name, _, _ in ADAPTERS:
        cases.append((name, name, Stack(name), name, [name], {}))
    cases += [
        ("stack_seq_bn_double_seq_bn", "Stack(seq_bn,double_seq_bn)", Stack("seq_bn", "double_seq_bn"),
         "double_seq_bn", ["seq_bn", "double_seq_bn"], {}),
        ("stack_lora_qv_seq_bn", "Stack(lora_qv,seq_bn)", Stack("lora_qv", "seq_bn"),
         "seq_bn", ["lora_qv", "seq_bn"], {}),
        ("stack_prefix_par_bn", "Stack(prefix,par_bn)", Stack("prefix", "par_bn"),
         "par_bn", ["prefix", "par_bn"], {}),
        ("fuse_seq_bn_seq_bn_b", "Fuse(seq_bn,seq_bn_b)", Fuse("seq_bn", "seq_bn_b"),
         FUSION_NAME, ["seq_bn", "seq_bn_b"], {"fusion": "adapters/fusion"}),
        ("parallel_seq_bn_seq_bn_b", "Parallel(seq_bn,seq_bn_b)", Parallel("seq_bn", "seq_bn_b"),
         None, ["seq_bn", "seq_bn_b"], {}),
        ("batchsplit_seq_bn_seq_bn_b", f"BatchSplit(seq_bn,seq_bn_b,batch_sizes=[{k},{B - k}])",
         BatchSplit("seq_bn", "seq_bn_b", batch_sizes=[k, B - k]), None, ["seq_bn", "seq_bn_b"],
         {"batch_sizes": [k, B - k]}),
        ("average_seq_bn_seq_bn_b", "Average(seq_bn,seq_bn_b,weights=[0.3,0.7])",
         Average("seq_bn", "seq_bn_b", weights=[0.3, 0.7]), "seq_bn_b", ["seq_bn", "seq_bn_b"],
         {"weights": [0.3, 0.7], "normalized_weights": [0.3 / 1.0, 0.7 / 1.0]}),
        ("average_lora_qv_lora_full", "Average(lora_qv,lora_full,weights=[2,1])",
         Average("lora_qv", "lora_full", weights=[2.0, 1.0]), "lora_full", ["lora_qv", "lora_full"],
         {"weights": [2.0, 1.0], "normalized_weights": [2.0 / 3.0, 1.0 / 3.0]}),
        ("split_seq_bn_seq_bn_b", f"Split(seq_bn,seq_bn_b,splits=[{split_at},{T - split_at}])",
         Split("seq_bn", "seq_bn_b", splits=[split_at, T - split_at]), "seq_bn_b",
         ["seq_bn", "seq_bn_b"], {"splits": [split_at, T - split_at]}),
    ]

    index = {"max_length": MAX_LENGTH, "batch_size": B, "seq_len": T, "base": "base.json", "cases": []}
    results = {}
    effects = {}
    for cid, sstr, setup, head, names, extra in cases:
        logits = run(model, batch, setup, head)
        if isinstance(logits, dict):
            if isinstance(setup, BatchSplit):
                # head h_i only sees its own slice of the batch: compare slice-wise
                lo = 0
                diffs = []
                for h, bs in zip(logits, setup.batch_sizes):
                    diffs.append(maxdiff(logits[h], ref[h][lo : lo + bs]))
                    lo += bs
                eff = max(diffs)
            else:
                eff = max(maxdiff(logits[h], ref[h]) for h in logits)
        else:
            eff = maxdiff(logits, ref[head])
        effects[cid] = eff
        assert eff > MIN_EFFECT, f"{cid}: logits moved only {eff}"
        results[cid] = logits
        heads_used = list(logits) if isinstance(logits, dict) else [head]
        doc = {
            "case": cid,
            "setup": sstr,
            "adapters": {n: f"adapters/{n}" for n in names},
            "adapters_safetensors": {n: f"adapters_st/{n}" for n in names},
            "head": head if head is not None else heads_used,
            "head_type": {h: HEAD_OF.get(h, ("classification",))[0] for h in heads_used}
            if head is None
            else HEAD_OF.get(head, ("classification",))[0],
            **extra,
            "max_abs_diff_vs_bare": eff,
            "logits": serial(logits),
        }
        if cid == "fuse_seq_bn_seq_bn_b":
            doc["adapters_safetensors"]["fusion"] = "adapters_st/fusion"
        write_json(os.path.join(GOLDEN_DIR, f"{cid}.json"), doc)
        index["cases"].append({"case": cid, "file": f"{cid}.json", "setup": sstr})

    # internal consistency the Go side can rely on: Parallel/BatchSplit of adapters that sit at the same
    # locations equal the single-adapter runs (per channel / per batch slice).
    par = results["parallel_seq_bn_seq_bn_b"]
    for h in ("seq_bn", "seq_bn_b"):
        assert maxdiff(par[h], results[h]) < 1e-5, f"Parallel channel {h} != single run"
    bs = results["batchsplit_seq_bn_seq_bn_b"]
    assert maxdiff(bs["seq_bn"], results["seq_bn"][:k]) < 1e-5
    assert maxdiff(bs["seq_bn_b"], results["seq_bn_b"][k:]) < 1e-5

    # prefix tuning: the library saves the same reparameterization weights once per layer and once for the pool
    sd = torch.load(os.path.join(ADAPTERS_DIR, "prefix", "pytorch_adapter.bin"), map_location="cpu", weights_only=True)
    pool = {k.split("self_prefix.")[1]: v for k, v in sd.items() if k.startswith("bert.prefix_tuning.")}
    assert sorted(pool) == ["control_trans.0.bias", "control_trans.0.weight", "control_trans.2.bias",
                            "control_trans.2.weight", "wte.weight"], sorted(pool)
    for k, v in sd.items():
        assert torch.equal(v, pool[k.split("self_prefix.")[1]]), k

    # LoRA merged vs. unmerged (both recorded)
    for name in ("lora_qv", "lora_full"):
        unmerged = results[name]
        model.set_active_adapters(name)
        model.merge_adapter(name)
        with torch.no_grad():
            merged = model(**batch, head=name).logits
        model.reset_adapter()
        d = maxdiff(merged, unmerged)
        assert d < 1e-4, f"{name}: merged vs unmerged differ by {d}"
        cid = f"{name}_merged"
        eff = maxdiff(merged, ref[name])
        effects[cid] = eff
        write_json(
            os.path.join(GOLDEN_DIR, f"{cid}.json"),
            {
                "case": cid,
                "setup": f"merge_adapter({name})",
                "adapters": {name: f"adapters/{name}"},
                "adapters_safetensors": {name: f"adapters_st/{name}"},
                "head": name,
                "head_type": HEAD_OF[name][0],
                "max_abs_diff_vs_bare": eff,
                "max_abs_diff_merged_vs_unmerged": d,
                "logits_unmerged": tolist(unmerged),
                "logits": tolist(merged),
            },
        )
        index["cases"].append({"case": cid, "file": f"{cid}.json", "setup": f"merge_adapter({name})"})

    # bare model + every head (no adapter active), for reference
    write_json(
        os.path.join(GOLDEN_DIR, "bare_heads.json"),
        {"case": "bare_heads", "setup": "no adapters active; each head on the bare encoder",
         "logits": {h: tolist(ref[h]) for h in all_heads}},
    )
    index["bare_heads"] = "bare_heads.json"
    write_json(os.path.join(GOLDEN_DIR, "index.json"), index)

    # 4. reload check: fresh models, load every saved directory, reproduce the golden logits
    for adir in (ADAPTERS_DIR, ADAPTERS_ST_DIR):
        st = adir == ADAPTERS_ST_DIR
        m = BertAdapterModel.from_pretrained(MODEL_DIR)
        m.eval()
        for name, _, _ in ADAPTERS:
            loaded = m.load_adapter(os.path.join(adir, name), use_safetensors=st)
            assert loaded == name, (loaded, name)
        m.load_adapter_fusion(os.path.join(adir, "fusion"), with_head=True, use_safetensors=st)
        for cid, sstr, setup, head, names, extra in cases:
            got = run(m, batch, setup, head)
            d = maxdiff(got, results[cid])
            assert d < RELOAD_TOL, f"reload {adir} {cid}: {d}"
        for name in ("lora_qv", "lora_full"):
            m.set_active_adapters(name)
            m.merge_adapter(name)
            with torch.no_grad():
                got = m(**batch, head=name).logits
            m.reset_adapter()
            d = maxdiff(got, results[name])
            assert d < 1e-4, f"reload merged {name}: {d}"

    dt = time.time() - t0
    print(f"transformers {transformers.__version__}, adapters {adapters.__version__}, torch {torch.__version__}")
    print(f"batch {B}x{T}; {len(index['cases'])} cases; {dt:.1f}s")
    for cid, eff in effects.items():
        print(f"  {cid:40s} max|logit diff| vs bare = {eff:.4f}")


if __name__ == "__main__":
    main()
