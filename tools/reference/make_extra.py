"""Regenerate adapters/testdata/extra: adapters and golden logits for the BnConfig flags, LoRA/IA3
options, prefix variants, fusion configs, union configs, nested compositions (with the Fuse/Split
setups over LoRA the library runs and those it refuses: "raises") and legacy configs
that testdata/tiny does not cover. Same tiny base model (testdata/tiny/model), same batch
(testdata/tiny/golden/base.json), same real libraries (tools/reference/.venv).

    HF_HUB_OFFLINE=1 tools/reference/.venv/bin/python tools/reference/make_extra.py

Seeded and deterministic. Before writing, the script reloads every saved directory (both copies)
into a fresh model and checks that it reproduces the golden logits (< 1e-5). Never edit the
outputs by hand. The output lives beside the tests that read it (adapters/testdata/extra).

Gates (use_gating) average over the padded sequence in the library, so its logits for a text
depend on the batch: the goldens of gated cases are every text run alone, unpadded ("unpadded":
true, with the padded batch's difference in "padded_batch_max_abs_diff"), which adapterwasm
computes at any padding. For every other case the script checks that the per-text runs equal the
padded batch (< 1e-5).

Unlike make_tiny.py, every case resets model.active_head first: the library keeps a BatchSplit
head setup active across set_active_adapters calls, and it would override head=... .
"""

import json
import logging
import os
import shutil

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import BertForSequenceClassification, BertForTokenClassification  # noqa: E402

import adapters  # noqa: E402
from adapters import (  # noqa: E402
    BertAdapterModel,
    BnConfig,
    IA3Config,
    LoRAConfig,
    MAMConfig,
    ParBnConfig,
    PrefixTuningConfig,
    SeqBnConfig,
)
from adapters.composition import Average, BatchSplit, Fuse, Parallel, Split, Stack  # noqa: E402
from adapters.configuration import AdapterFusionConfig  # noqa: E402
from adapters.loading import PredictionHeadLoader  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
TINY = os.path.join(ROOT, "testdata", "tiny")
OUT = os.path.join(ROOT, "adapters", "testdata", "extra")
NOISE_STD = 0.3
LABELS3 = ["negative", "neutral", "positive"]

ADAPTERS = [
    ("bn_gating", BnConfig(mh_adapter=True, output_adapter=True, reduction_factor=8, non_linearity="relu",
                           original_ln_before=True, use_gating=True)),
    ("bn_channel", BnConfig(mh_adapter=False, output_adapter=True, reduction_factor={"0": 4, "default": 16},
                            non_linearity="tanh", original_ln_before=True, residual_before_ln="post_add",
                            scaling="channel", ln_after=True)),
    ("bn_leave_out", BnConfig(mh_adapter=True, output_adapter=True, reduction_factor=4, non_linearity="leakyrelu",
                              original_ln_before=False, original_ln_after=False, leave_out=[1])),
    ("par_gating", ParBnConfig(reduction_factor=4, scaling="learned", use_gating=True, ln_after=True)),
    ("fa", SeqBnConfig(reduction_factor=8)),
    ("fb", SeqBnConfig(reduction_factor=4, non_linearity="swish", residual_before_ln=False)),
    ("fc", SeqBnConfig(reduction_factor=16, non_linearity="gelu_new")),
    ("lora_gate", LoRAConfig(r=2, alpha=4, use_gating=True, attn_matrices=["q", "k", "v"], output_lora=True)),
    ("lora_p", LoRAConfig(r=3, alpha=6, attn_matrices=["q", "k", "v"], output_lora=True)),
    ("lora_leave", LoRAConfig(r=2, alpha=2, attn_matrices=["k"], intermediate_lora=True, leave_out=[0])),
    ("ia3_x", IA3Config(attn_matrices=["q", "v"], output_lora=True)),
    ("prefix_flat", PrefixTuningConfig(flat=True, prefix_length=4)),
    ("prefix_b", PrefixTuningConfig(prefix_length=4, bottleneck_size=16, non_linearity="relu")),
    ("prefix_leave", PrefixTuningConfig(prefix_length=3, bottleneck_size=16, leave_out=[0])),
    ("mam", MAMConfig(PrefixTuningConfig(prefix_length=5, bottleneck_size=32), ParBnConfig(reduction_factor=4))),
    ("union", "lora[r=2,alpha=4]|seq_bn[reduction_factor=8]"),
]

FUSIONS = [
    (["fa", "fb"], "static"),
    (["fb", "fc"], AdapterFusionConfig.load("dynamic", residual_before=True, query_before_ln=True,
                                            value_before_softmax=False)),
]

CASES = [(n, n, Stack(n), n) for n, _ in ADAPTERS] + [
    ("fuse_static", "Fuse(fa,fb)", Fuse("fa", "fb"), "fa,fb"),
    ("fuse_residual_before", "Fuse(fb,fc)", Fuse("fb", "fc"), "fb,fc"),
    ("parallel_lora", "Parallel(lora_gate,lora_p)", Parallel("lora_gate", "lora_p"), None),
    ("batchsplit_lora", "BatchSplit(lora_gate,lora_p,batch_sizes=[6,6])",
     BatchSplit("lora_gate", "lora_p", batch_sizes=[6, 6]), None),
    ("stack_parallel", "Stack(fa,Parallel(fb,fc))", Stack("fa", Parallel("fb", "fc")), None),
    ("stack_prefixes", "Stack(prefix_flat,prefix_b)", Stack("prefix_flat", "prefix_b"), "prefix_b"),
    ("parallel_prefixes", "Parallel(prefix_flat,prefix_b)", Parallel("prefix_flat", "prefix_b"), None),
    ("average3", "Average(fa,fb,fc,weights=[1,2,3])", Average("fa", "fb", "fc", weights=[1, 2, 3]), "fc"),
    ("split_stack", "Split(fa,Stack(fb,fc),splits=[16,32])", Split("fa", Stack("fb", "fc"), splits=[16, 32]), "fc"),
    ("stack_lora_ia3", "Stack(lora_p,ia3_x)", Stack("lora_p", "ia3_x"), "ia3_x"),
    ("fuse_in_stack", "Stack(bn_channel,Fuse(fa,fb))", Stack("bn_channel", Fuse("fa", "fb")), "fa,fb"),
    # Fuse and Split have no LoRA composition: the LoRA layers pass over a block where none of its
    # adapters has a LoRA module (compose_fuse/compose_split of ComposableAdapterLayerBase) ...
    ("stack_lora_fuse", "Stack(lora_p,Fuse(fa,fb))", Stack("lora_p", Fuse("fa", "fb")), "fa,fb"),
    ("stack_union_fuse", "Stack(union,Fuse(fa,fb))", Stack("union", Fuse("fa", "fb")), "fa,fb"),
    ("stack_lora_split", "Stack(lora_p,Split(fa,fb,splits=[16,32]))",
     Stack("lora_p", Split("fa", "fb", splits=[16, 32])), "fb"),
    # (prefix tuning likewise, but for Average: PrefixTuningLayer.mean always raises)
    ("stack_prefix_fuse", "Stack(prefix_b,Fuse(fa,fb))", Stack("prefix_b", Fuse("fa", "fb")), "fa,fb"),
]
# ... and raise NotImplementedError where one has (the setup is refused while running).
REFUSED = [
    ("fuse_stacked_lora", "Fuse(Stack(lora_p,fa),fb)", Fuse(Stack("lora_p", "fa"), "fb"), "fa,fb"),
    ("split_lora", "Split(fa,lora_p,splits=[16,32])", Split("fa", "lora_p", splits=[16, 32]), "lora_p"),
    ("fuse_stacked_prefix", "Fuse(Stack(prefix_b,fa),fb)", Fuse(Stack("prefix_b", "fa"), "fb"), "fa,fb"),
    ("stack_prefix_average", "Stack(prefix_b,Average(fa,fb))", Stack("prefix_b", Average("fa", "fb")), "fb"),
]
# Gates (use_gating) average over the sequence, padding included: the library's answer for a text
# depends on the batch it is padded in. The goldens of the cases with a gate are each text run
# alone, unpadded (what adapterwasm computes at any padding: issue #20); every other case's padded
# batch is checked against the same per-text runs.
GATED = {"bn_gating", "par_gating", "lora_gate"}
LEGACY = [
    # (name, config, edit of the saved adapter_config.json)
    ("legacy_gelu", SeqBnConfig(reduction_factor=8, non_linearity="gelu"), "drop_version"),
    ("legacy_lora", LoRAConfig(r=4, alpha=16), "version_1.0.0"),
]


def save_st(model, name):
    """save_adapter(..., use_safetensors=True), or, where the library refuses because tensors share
    memory (flat prefix tuning), the .bin's tensors as copies plus the library's config/head files,
    as make_tiny.py does."""
    d = os.path.join(OUT, "adapters_st", name)
    try:
        model.save_adapter(d, name, with_head=True, use_safetensors=True)
        return
    except RuntimeError as e:
        if "share memory" not in str(e):
            raise
    sd = torch.load(os.path.join(OUT, "adapters", name, "pytorch_adapter.bin"), map_location="cpu", weights_only=True)
    save_file({k: v.clone().contiguous() for k, v in sd.items()}, os.path.join(d, "adapter.safetensors"))
    PredictionHeadLoader(model, error_on_missing=False, use_safetensors=True).save(d, name)


def tolist(t):
    return t.detach().to(torch.float32).cpu().tolist()


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def perturb(model, component, seed):
    g = torch.Generator().manual_seed(seed)
    n = 0
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if component in pname.split("."):
                p.add_(torch.randn(p.shape, generator=g, dtype=torch.float32) * NOISE_STD)
                n += 1
    assert n, component


def run(model, batch, setup, head):
    model.active_head = None
    model.set_active_adapters(setup)
    with torch.no_grad():
        if head is None:
            out = model(**batch)
            return {h: o.logits for h, o in zip(list(model.active_head), out.head_outputs)}
        return model(**batch, head=head).logits


def run_alone(model, base, setup, head):
    """Each text of the golden batch run alone, unpadded (padded to the splits under Split: the
    library requires it), logits stacked per head as run() gives them. Under a top-level
    BatchSplit of k children a text runs as k copies of itself (no padding), batch sizes all 1,
    and keeps the row of the child its place in the golden batch gives it (the library's heads
    fail on a batch size of 0)."""
    n = len(base["input_ids"])
    T = len(base["input_ids"][0])
    slices = None
    if isinstance(setup, BatchSplit):
        slices = [k for k, b in enumerate(setup.batch_sizes) for _ in range(b)]
        assert len(slices) == n, (setup, n)
    split = any(isinstance(b, Split) for b in [setup] + list(setup))
    rows = {}
    for i in range(n):
        length = T if split else sum(base["attention_mask"][i])
        copies = 1 if slices is None else len(setup.batch_sizes)
        one = {k: torch.tensor([base[k][i][:length]] * copies) for k in ("input_ids", "attention_mask", "token_type_ids")}
        s = setup
        if slices is not None:
            s = BatchSplit(*setup.children, batch_sizes=[1] * copies)
        out = run(model, one, s, head)
        for j, (h, logits) in enumerate(out.items() if isinstance(out, dict) else [(None, out)]):
            if slices is not None and j != slices[i]:
                continue
            rows.setdefault(h, []).append(logits)
    out = {h: torch.cat(r) for h, r in rows.items()}
    return out[None] if list(out) == [None] else out


def fusions_of(setup):
    return [f"fusion_{'_'.join(n)}" for n, _ in FUSIONS if any(
        isinstance(b, Fuse) and b.name == ",".join(n) for b in ([setup] + list(setup)))]


def gated(setup):
    return bool(GATED & set(setup.flatten()))


def compute(model, batch, base, setup, head):
    """The golden logits of a case: run() on the padded batch, or run_alone() for gated setups."""
    return run_alone(model, base, setup, head) if gated(setup) else run(model, batch, setup, head)


def maxdiff(a, b):
    if isinstance(a, dict):
        return max(maxdiff(a[k], b[k]) for k in a)
    return float((a - b).abs().max())


def serial(x):
    return {k: tolist(v) for k, v in x.items()} if isinstance(x, dict) else tolist(x)


def main():
    logging.getLogger("adapters").setLevel(logging.ERROR)
    transformers.logging.set_verbosity_error()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    shutil.rmtree(OUT, ignore_errors=True)
    for sub in ("adapters", "adapters_st"):
        os.makedirs(os.path.join(OUT, sub))
    base = json.load(open(os.path.join(TINY, "golden", "base.json")))
    batch = {k: torch.tensor(base[k]) for k in ("input_ids", "attention_mask", "token_type_ids")}
    model_dir = os.path.join(TINY, "model")

    model = BertAdapterModel.from_pretrained(model_dir)
    model.eval()
    model.config.name_or_path = "adapterwasm/tiny-bert"
    id2label = dict(enumerate(LABELS3))
    for i, (name, cfg) in enumerate(ADAPTERS + [(n, c) for n, c, _ in LEGACY]):
        torch.manual_seed(300 + i)
        model.add_adapter(name, config=cfg)
        model.add_classification_head(name, num_labels=3, id2label=id2label)
        perturb(model, name, 3000 + i)
    for j, (names, fcfg) in enumerate(FUSIONS):
        torch.manual_seed(400 + j)
        model.add_adapter_fusion(Fuse(*names), config=fcfg)
        fname = ",".join(names)
        model.add_classification_head(fname, num_labels=3, id2label=id2label)
        perturb(model, fname, 4000 + j)
    model.eval()

    dirs = {}
    for name, _ in ADAPTERS + [(n, c) for n, c, _ in LEGACY]:
        model.save_adapter(os.path.join(OUT, "adapters", name), name, with_head=True)
        save_st(model, name)
        dirs[name] = name
    for names, _ in FUSIONS:
        fname = ",".join(names)
        for sub, st in (("adapters", False), ("adapters_st", True)):
            d = os.path.join(OUT, sub, "fusion_" + "_".join(names))
            model.save_adapter_fusion(d, names, with_head=True, use_safetensors=st)

    index = {"base": "testdata/tiny/golden/base.json", "cases": []}
    results = {}
    for cid, sstr, setup, head in CASES:
        padded = run(model, batch, setup, head)
        alone = run_alone(model, base, setup, head)
        logits = alone if gated(setup) else padded
        if not gated(setup):
            # without gates, the library gives a text the same logits alone as in the padded batch
            assert maxdiff(alone, padded) < 1e-5, (cid, maxdiff(alone, padded))
        results[cid] = logits
        doc = {"case": cid, "setup": sstr, "adapters": sorted(setup.flatten()), "fusions": fusions_of(setup),
               "head": head if head is not None else list(logits), "logits": serial(logits)}
        if gated(setup):
            doc["unpadded"] = True
            doc["padded_batch_max_abs_diff"] = maxdiff(padded, alone)
        write_json(os.path.join(OUT, "golden", cid + ".json"), doc)
        index["cases"].append(cid)
    for cid, sstr, setup, head in REFUSED:
        try:
            run(model, batch, setup, head)
        except NotImplementedError:
            pass
        else:
            raise AssertionError(f"{cid}: {sstr} ran; the case expects NotImplementedError")
        write_json(os.path.join(OUT, "golden", cid + ".json"),
                   {"case": cid, "setup": sstr, "adapters": sorted(setup.flatten()), "fusions": fusions_of(setup),
                    "head": head, "raises": "NotImplementedError"})
        index["cases"].append(cid)

    # merge of (IA)^3 and LoRA with options: merge_adapter, then forward (only the weights are
    # scaled for IA3, so merged logits differ from unmerged ones by the bias term)
    for name in ("ia3_x", "lora_p"):
        model.active_head = None
        model.set_active_adapters(name)
        model.merge_adapter(name)
        with torch.no_grad():
            merged = model(**batch, head=name).logits
        model.reset_adapter()
        cid = name + "_merged"
        write_json(os.path.join(OUT, "golden", cid + ".json"),
                   {"case": cid, "setup": name, "merge": name, "adapters": [name], "fusions": [], "head": name,
                    "logits": tolist(merged), "logits_unmerged": tolist(results[name])})
        index["cases"].append(cid)

    # legacy configs: edit the saved config, reload with the real library, record what it computes
    for name, _, edit in LEGACY:
        for sub in ("adapters", "adapters_st"):
            p = os.path.join(OUT, sub, name, "adapter_config.json")
            c = json.load(open(p))
            if edit == "drop_version":
                del c["version"]
            else:
                c["version"] = "adapters.1.0.0"
            json.dump(c, open(p, "w"), indent=2, sort_keys=True)
        m = BertAdapterModel.from_pretrained(model_dir)
        m.eval()
        m.load_adapter(os.path.join(OUT, "adapters", name))
        logits = run(m, batch, Stack(name), name)
        write_json(os.path.join(OUT, "golden", name + ".json"),
                   {"case": name, "setup": name, "adapters": [name], "fusions": [], "head": name,
                    "legacy": edit, "logits": tolist(logits),
                    "max_abs_diff_vs_unedited": maxdiff(logits, run(model, batch, Stack(name), name))})
        index["cases"].append(name)
        results[name] = logits

    # static heads: adapters trained on BertForSequenceClassification / BertForTokenClassification
    # (adapters.init) save a head_config.json without "config"; the library converts them to flex
    # heads on load (head_utils.STATIC_TO_FLEX_HEAD_MAP).
    for k, (cls, cid, labels) in enumerate(((BertForSequenceClassification, "static_cls", LABELS3),
                                            (BertForTokenClassification, "static_tag", ["O", "B-X", "I-X", "B-Y", "I-Y"]))):
        torch.manual_seed(500 + k)
        sm = cls.from_pretrained(model_dir, num_labels=len(labels), id2label=dict(enumerate(labels)),
                                 label2id={l: i for i, l in enumerate(labels)})
        sm.config.name_or_path = "adapterwasm/tiny-bert"
        adapters.init(sm)
        sm.add_adapter(cid, config=SeqBnConfig(reduction_factor=8))
        perturb(sm, cid, 5000 + k)
        perturb(sm, "classifier", 5100 + k)
        sm.eval()
        sm.set_active_adapters(cid)
        with torch.no_grad():
            own = sm(**batch).logits
        sm.save_adapter(os.path.join(OUT, "adapters", cid), cid, with_head=True)
        sm.save_adapter(os.path.join(OUT, "adapters_st", cid), cid, with_head=True, use_safetensors=True)
        for sub, st in (("adapters", False), ("adapters_st", True)):
            m = BertAdapterModel.from_pretrained(model_dir)
            m.eval()
            assert m.load_adapter(os.path.join(OUT, sub, cid), use_safetensors=st) == cid
            got = run(m, batch, Stack(cid), cid)
            assert maxdiff(got, own) < 1e-5, (cid, sub, maxdiff(got, own))
        write_json(os.path.join(OUT, "golden", cid + ".json"),
                   {"case": cid, "setup": cid, "adapters": [cid], "fusions": [], "head": cid,
                    "static_head": cls.__name__, "logits": tolist(got)})
        index["cases"].append(cid)

    # reload check: both copies into fresh models reproduce every case
    for sub, st in (("adapters", False), ("adapters_st", True)):
        m = BertAdapterModel.from_pretrained(model_dir)
        m.eval()
        for name, _ in ADAPTERS + [(n, c) for n, c, _ in LEGACY]:
            assert m.load_adapter(os.path.join(OUT, sub, name), use_safetensors=st) == name
        for names, _ in FUSIONS:
            m.load_adapter_fusion(os.path.join(OUT, sub, "fusion_" + "_".join(names)), with_head=True,
                                  use_safetensors=st)
        for cid, sstr, setup, head in CASES:
            d = maxdiff(compute(m, batch, base, setup, head), results[cid])
            assert d < 1e-5, (sub, cid, d)
        for name, _, _ in LEGACY:
            d = maxdiff(run(m, batch, Stack(name), name), results[name])
            assert d < 1e-5, (sub, name, d)
    write_json(os.path.join(OUT, "golden", "index.json"), index)
    print(f"adapters {adapters.__version__}: {len(index['cases'])} cases")


if __name__ == "__main__":
    main()
