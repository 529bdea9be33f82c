"""Regenerate adapters/testdata/methods: goldens for every activation of the library's table, the
registry sweep (every named config of ADAPTER_CONFIG_MAP and ADAPTERFUSION_CONFIG_MAP, added to
the tiny model and saved) and the methods added after make_extra.py (fusion temperature, VeRA,
DoRA, ...). Same tiny base model (testdata/tiny/model), same batch (testdata/tiny/golden/base.json),
same real libraries (tools/reference/.venv). Also writes adapters/presets.json (every preset's
to_dict(), which the Go config-string parser embeds).

    HF_HUB_OFFLINE=1 tools/reference/.venv/bin/python tools/reference/make_methods.py

Seeded and deterministic. Every adapter is perturbed (default inits are near-identity) and must
move the logits by more than MIN_EFFECT; before writing, every saved directory (both copies) is
reloaded into a fresh model and must reproduce its goldens (< 1e-5). Never edit the outputs by hand.
"""

import json
import logging
import os
import shutil
import subprocess
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
import transformers  # noqa: E402
from transformers.activations import ACT2CLS  # noqa: E402

import adapters  # noqa: E402
from adapters import (  # noqa: E402
    BertAdapterModel,
    CompacterConfig,
    CompacterPlusPlusConfig,
    DoRAConfig,
    DvoRAConfig,
    LoRAConfig,
    LoReftConfig,
    MTLLoRAConfig,
    NoReftConfig,
    PrefixTuningConfig,
    PromptTuningConfig,
    ConfigUnion,
    DoubleSeqBnInvConfig,
    SeqBnConfig,
    SeqBnInvConfig,
    UniPELTConfig,
    VeraConfig,
)
from adapters.composition import Average, BatchSplit, Fuse, MultiTask, Parallel, Stack  # noqa: E402
from adapters.configuration import AdapterFusionConfig  # noqa: E402
from adapters.configuration.adapter_config import ADAPTER_CONFIG_MAP  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_extra import run_alone  # noqa: E402  (each text alone, unpadded: gated adapters)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
TINY = os.path.join(ROOT, "testdata", "tiny")
MODEL_DIR = os.path.join(TINY, "model")
OUT = os.path.join(ROOT, "adapters", "testdata", "methods")
PRESETS_JSON = os.path.join(ROOT, "adapters", "presets.json")
NOISE_STD = 0.3
MIN_EFFECT = 1e-2
RELOAD_TOL = 1e-5
MAX_REGISTRY_WEIGHTS = 64 << 10
LABELS3 = ["negative", "neutral", "positive"]
MODEL_NAME = "adapterwasm/tiny-bert"

# Activation_Function_Class: transformers' ACT2FN (lowercased) plus the library's own "leakyrelu".
ACTIVATIONS = list(ACT2CLS) + ["leakyrelu"]


def tolist(t):
    return t.detach().to(torch.float32).cpu().tolist()


def write_json(path, obj, **kw):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, **(kw or {"separators": (",", ":")}))
        f.write("\n")


def perturb(model, component, seed, std=NOISE_STD):
    g = torch.Generator().manual_seed(seed)
    n = 0
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if component in pname.split("."):
                keep = p.diagonal().clone() if pname.endswith("parametrizations.weight.original") else None
                p.add_((torch.randn(p.shape, generator=g, dtype=torch.float32) * std).to(p.dtype))
                if keep is not None:
                    # torch's householder orthogonal map reads the diagonal as signs (.int()) and
                    # never trains it: keep it ±1 as training does
                    p.diagonal().copy_(keep)
                n += 1
    assert n, component


def fresh(attn=None):
    """The tiny model; attn="eager" for prompt tuning (see PROMPTS)."""
    m = BertAdapterModel.from_pretrained(MODEL_DIR, **({"attn_implementation": attn} if attn else {}))
    m.config.name_or_path = MODEL_NAME
    m.eval()
    return m


def run(model, batch, setup, head):
    model.active_head = None
    model.set_active_adapters(setup)
    with torch.no_grad():
        return model(**batch, head=head).logits


def save_both(model, name, sub):
    """save_adapter to <sub>/adapters/name (.bin) and <sub>/adapters_st/name (safetensors); where the
    library refuses safetensors because tensors share memory (a learned activation saved as
    adapter_down.1 and non_linearity, prefix tuning's pool), the .bin's tensors as copies plus the
    library's config and head files, as make_tiny.py does."""
    d = os.path.join(OUT, sub, "adapters", name)
    for kind in ("adapters", "adapters_st"):
        os.makedirs(os.path.join(OUT, sub, kind), exist_ok=True)
    model.save_adapter(d, name, with_head=True)
    ds = os.path.join(OUT, sub, "adapters_st", name)
    try:
        model.save_adapter(ds, name, with_head=True, use_safetensors=True)
        return
    except RuntimeError as e:
        if "share memory" not in str(e):
            raise
    sd = torch.load(os.path.join(d, "pytorch_adapter.bin"), map_location="cpu", weights_only=True)
    # The prefix-tuning pool is registered in every layer too: keep the top-level copy only (the
    # reload check below shows the library loads it).
    sd = {k: v for k, v in sd.items() if ".prefix_tuning.pool.prefix_tunings." not in k}
    save_file({k: v.clone().contiguous() for k, v in sd.items()}, os.path.join(ds, "adapter.safetensors"))
    shutil.copy(os.path.join(d, "adapter_config.json"), ds)
    hd = torch.load(os.path.join(d, "pytorch_model_head.bin"), map_location="cpu", weights_only=True)
    save_file({k: v.clone().contiguous() for k, v in hd.items()}, os.path.join(ds, "model_head.safetensors"))
    shutil.copy(os.path.join(d, "head_config.json"), ds)


def reload_check(sub, names, golden, batch, extra_load=None):
    for kind, st in (("adapters", False), ("adapters_st", True)):
        m = fresh()
        for n in names:
            assert m.load_adapter(os.path.join(OUT, sub, kind, n), use_safetensors=st) == n
        if extra_load:
            extra_load(m, kind, st)
        for n in names:
            d = float((run(m, batch, Stack(n), n) - golden[n]).abs().max())
            assert d < RELOAD_TOL, (sub, kind, n, d)


def activations(batch):
    """A seq_bn adapter and a 2-layer head with each activation of the table."""
    model = fresh()
    names, golden = [], {}
    for i, act in enumerate(ACTIVATIONS):
        name = "act_" + act
        torch.manual_seed(600 + i)
        model.add_adapter(name, config=SeqBnConfig(reduction_factor=8, non_linearity=act))
        model.add_classification_head(name, num_labels=3, layers=2, activation_function=act,
                                      id2label=dict(enumerate(LABELS3)))
        perturb(model, name, 6000 + i)
        logits = run(model, batch, Stack(name), name)
        with torch.no_grad():
            model.active_head = None
            model.set_active_adapters(None)
            bare = model(**batch, head=name).logits
        eff = float((logits - bare).abs().max())
        assert eff > MIN_EFFECT, (name, eff)
        save_both(model, name, "activations")
        names.append(name)
        golden[name] = logits
        write_json(os.path.join(OUT, "activations", "golden", name + ".json"),
                   {"case": name, "activation": act, "setup": name, "adapters": [name], "head": name,
                    "logits": tolist(logits)})
    reload_check("activations", names, golden, batch)
    write_json(os.path.join(OUT, "activations", "golden", "index.json"), {"cases": names})
    return len(names)


def safe(preset):
    return preset.replace("++", "_plusplus").replace("+", "_plus_")


def registry(batch):
    """Every named config of ADAPTER_CONFIG_MAP, as the library builds, saves and runs it."""
    presets = {}
    model = fresh("eager")  # eager attention: prompt_tuning is among the presets (see PROMPTS)
    cases = []
    golden = {}
    for i, (preset, cfg) in enumerate(sorted(ADAPTER_CONFIG_MAP.items())):
        presets[preset] = cfg.to_dict()
        name = "p_" + safe(preset)
        entry = {"preset": preset, "dir": name, "class": type(cfg).__name__}
        torch.manual_seed(700 + i)
        try:
            model.add_adapter(name, config=preset)
        except Exception as e:  # the library cannot even add it to BERT
            entry["add_error"] = f"{type(e).__name__}: {str(e)[:200]}"
            cases.append(entry)
            continue
        model.add_classification_head(name, num_labels=3, id2label=dict(enumerate(LABELS3)))
        perturb(model, name, 7000 + i)
        save_both(model, name, "registry")
        try:
            logits = run(model, batch, Stack(name), name)
            with torch.no_grad():
                model.active_head = None
                model.set_active_adapters(None)
                bare = model(**batch, head=name).logits
            entry["effect"] = float((logits - bare).abs().max())
            assert entry["effect"] > MIN_EFFECT, (preset, entry["effect"])
            entry["logits"] = tolist(logits)
            golden[name] = logits
        except Exception as e:  # saved fine, but the library cannot run it on a plain batch
            entry["forward_error"] = f"{type(e).__name__}: {str(e)[:200]}"
        cases.append(entry)
    # Each saved preset alone in a fresh model (both copies): where the library's own reload does
    # not reproduce what it saved, there is no reference to match, and the case says so.
    for entry in cases:
        name = entry["dir"]
        if name not in golden:
            continue
        for kind, st in (("adapters", False), ("adapters_st", True)):
            m = fresh("eager")
            assert m.load_adapter(os.path.join(OUT, "registry", kind, name), use_safetensors=st) == name
            reloaded = run(m, batch, Stack(name), name)
            d = float((reloaded - golden[name]).abs().max())
            if d >= RELOAD_TOL:
                # What the library computes for the saved directory is the reference for loading it.
                entry["reload_error"] = f"{kind}: the library's reload differs by {d:.3g}"
                entry["logits_reloaded"] = tolist(reloaded)
                entry.pop("logits")
                del golden[name]
                break
    # Keep the fixtures small: the .bin copy only (safetensors is covered per method family by the
    # other cases), and only the config where the weights are large (the default prefix-tuning MLP
    # of prefix_tuning, mam and unipelt: 350-550 KB each; those weights are tested in make_tiny.py
    # and make_extra.py cases).
    shutil.rmtree(os.path.join(OUT, "registry", "adapters_st"))
    for entry in cases:
        d = os.path.join(OUT, "registry", "adapters", entry["dir"])
        entry["weights"] = os.path.isdir(d) and os.path.getsize(os.path.join(d, "pytorch_adapter.bin")) <= MAX_REGISTRY_WEIGHTS
        if os.path.isdir(d) and not entry["weights"]:
            for f in ("pytorch_adapter.bin", "pytorch_model_head.bin", "head_config.json"):
                os.remove(os.path.join(d, f))
    write_json(os.path.join(OUT, "registry", "golden", "index.json"), {"cases": cases}, indent=1)
    write_json(PRESETS_JSON, presets, sort_keys=True)
    return len(cases)


# The methods added after make_extra.py: name -> config. Heads: 3-label classification.
METHODS = [
    ("vera", VeraConfig(r=4, alpha=8, attn_matrices=["q", "k", "v"])),
    ("vera_gate", VeraConfig(r=2, alpha=4, use_gating=True)),
    ("dora", DoRAConfig(r=4, alpha=16, attn_matrices=["q", "k", "v"], intermediate_lora=True, output_lora=True)),
    ("dvora", DvoRAConfig(r=4, alpha=8)),
    ("lora_x", LoRAConfig(r=2, alpha=4)),
    ("ta", SeqBnConfig(reduction_factor=8)),
    ("tb", SeqBnConfig(reduction_factor=4, non_linearity="mish")),
    # UniPELT: gated prefix tuning + gated seq_bn + gated LoRA (a small prefix MLP keeps it small)
    ("unipelt", UniPELTConfig(prefix_tuning=PrefixTuningConfig(prefix_length=4, bottleneck_size=16))),
    ("prefix_gate2", PrefixTuningConfig(prefix_length=3, bottleneck_size=8, use_gating=True, shared_gating=False)),
    # Compacter / Compacter++ (PHM layers): the presets at a reduction factor the tiny model's 32
    # hidden units allow (the presets' 32 leaves 1 unit, which phm_dim 4 cannot divide), then the
    # other parameter-sharing and factorization rules.
    ("compacter", CompacterConfig(reduction_factor=2)),
    ("compacter_pp", CompacterPlusPlusConfig(reduction_factor=4)),
    ("phm_shared_w", CompacterPlusPlusConfig(reduction_factor=4, shared_W_phm=True, phm_rank=2)),
    ("phm_own_rule", CompacterPlusPlusConfig(reduction_factor=2, shared_phm_rule=False, factorized_phm_rule=True,
                                             phm_bias=False, phm_dim=2)),
    ("phm_full_w", CompacterConfig(reduction_factor=4, factorized_phm_W=False, factorized_phm_rule=True,
                                   non_linearity="relu")),
    # ReFT (DiReFT is left out: its subtract_projection=False is a class attribute the saved config
    # does not keep, so the library's own reload runs it as NoReFT; the registry sweep records that).
    ("loreft", LoReftConfig(r=2, suffix_positions=2)),
    ("noreft_tied", NoReftConfig(r=3, prefix_positions=2, suffix_positions=1, tied_weights=True, non_linearity="tanh")),
    ("loreft_l1", LoReftConfig(r=1, layers=[1], prefix_positions=4)),
    # Invertible adapters (MAD-X): NICE coupling on the embedding output, for the setup's first
    # adapter only (InvertibleAdaptersMixin.invertible_adapters_forward). A language adapter as
    # the MAD-X paper builds it (seq_bn_inv), and a NICE variant with another factor and a learned
    # activation in its subnets (F.1 / G.1 hold PReLU weights).
    ("lang_inv", SeqBnInvConfig(reduction_factor=8)),
    ("inv_prelu", DoubleSeqBnInvConfig(reduction_factor=8, non_linearity="prelu", inv_adapter_reduction_factor=4)),
]
# GLOW coupling (inv_adapter="glow"): the library adds and saves it, but GLOWCouplingBlock.forward
# slices its subnet output on the token axis of BERT's 3-D embeddings and fails; the golden
# records that error (not in the index: there are no logits to match).
GLOW = ("inv_glow", SeqBnConfig(reduction_factor=8, inv_adapter="glow", inv_adapter_reduction_factor=2))
# A case whose setup's first adapter has an invertible module must show it: dropping the module
# alone moves the logits by more than this.
MIN_INV_EFFECT = 0.1
# Heads other than 3-label classification: a tagging head (every position's logits) and a
# multilabel classification head.
METHOD_HEADS = {"noreft_tied": "tagging", "dvora": "multilabel", "compacter_pp": "tagging"}
LABELS5 = ["O", "B-X", "I-X", "B-Y", "I-Y"]
# Fusions: (adapters, config).
METHOD_FUSIONS = [
    (["ta", "tb"], AdapterFusionConfig.load("dynamic", temperature=True)),
]
# (case, setup string for Go, setup, head or None = the setup's heads)
METHOD_CASES = [(n, n, Stack(n), n) for n, _ in METHODS] + [
    ("stack_lora_dora", "Stack(lora_x,dora)", Stack("lora_x", "dora"), "dora"),
    ("stack_dora_lora", "Stack(dora,lora_x)", Stack("dora", "lora_x"), "lora_x"),
    # Parallel/BatchSplit branches must wrap the same linears (the library fails otherwise).
    ("parallel_vera_dvora", "Parallel(vera_gate,dvora)", Parallel("vera_gate", "dvora"), None),
    ("batchsplit_dvora_lora", "BatchSplit(dvora,lora_x,batch_sizes=[5,7])",
     BatchSplit("dvora", "lora_x", batch_sizes=[5, 7]), None),
    ("average_dora_lora", "Average(dora,lora_x,weights=[2,1])", Average("dora", "lora_x", weights=[2, 1]), "dora"),
    ("stack_prefix_gate2_unipelt", "Stack(prefix_gate2,unipelt)", Stack("prefix_gate2", "unipelt"), "unipelt"),
    ("stack_compacter_seq_bn", "Stack(compacter_pp,ta)", Stack("compacter_pp", "ta"), "ta"),
    ("parallel_compacters", "Parallel(compacter,phm_full_w)", Parallel("compacter", "phm_full_w"), None),
    # Only the first adapter of the setup intervenes (ReftLayer.forward).
    ("stack_loreft_ta", "Stack(loreft,ta)", Stack("loreft", "ta"), "ta"),
    ("stack_ta_loreft", "Stack(ta,loreft)", Stack("ta", "loreft"), "loreft"),
    # MAD-X: language adapter (with its invertible adapter) then task adapter and its head; the
    # other order runs no invertible adapter (ta, the first, has none).
    ("madx_stack_lang_inv_ta", "Stack(lang_inv,ta)", Stack("lang_inv", "ta"), "ta"),
    ("stack_ta_lang_inv", "Stack(ta,lang_inv)", Stack("ta", "lang_inv"), "lang_inv"),
    # The first adapter's invertible module runs once on the whole batch, before Parallel
    # replicates it and for every BatchSplit slice.
    ("parallel_lang_inv_ta", "Parallel(lang_inv,ta)", Parallel("lang_inv", "ta"), None),
    ("batchsplit_lang_inv_ta", "BatchSplit(lang_inv,ta,batch_sizes=[5,7])",
     BatchSplit("lang_inv", "ta", batch_sizes=[5, 7]), None),
]
# Fusion temperature: BertFusion.T starts at 50 and drops by 0.05 on every call (eval mode too)
# down to 1, so the golden records the logits of chosen calls of one sequence of calls.
TEMPERATURE_CALLS = [1, 2, 100, 1000, 1001]  # T = 50, 49.95, 45.05, 1 (floor from call 981), 1
TEMPERATURE_BATCH = 1  # the first sequences of the batch: a thousand calls stay quick in Go tests


# Gated adapters (use_gating): the library averages a gate over every position, padding
# included, so a text's logits depend on its batch; adapterwasm averages over the real tokens
# (make_extra.py, issue #20). Their goldens are each text run alone, unpadded (run_alone).
GATED = {"vera_gate", "unipelt", "prefix_gate2"}


def gated(setup):
    return bool(GATED & set(setup.flatten()))


def run_padded(model, batch, setup, head):
    """The setup on the padded batch: the head's logits, or per head for head=None."""
    model.active_head = None
    model.set_active_adapters(setup)
    with torch.no_grad():
        if head is None:
            out = model(**batch)
            return {h: o.logits for h, o in zip(list(model.active_head), out.head_outputs)}
        return model(**batch, head=head).logits


def compute(model, batch, setup, head):
    """The golden logits of a case: the padded batch, or each text alone for gated setups."""
    if gated(setup):
        return run_alone(model, {k: v.tolist() for k, v in batch.items()}, setup, head)
    return run_padded(model, batch, setup, head)


def maxdiff(a, b):
    if isinstance(a, dict):
        return max(maxdiff(a[k], b[k]) for k in a)
    return float((a - b).abs().max())


def without_inv(model, name, fn):
    """fn() with the invertible module of adapter name taken out for the call."""
    inv = model.base_model.invertible_adapters
    mod = inv[name]
    del inv[name]
    try:
        return fn()
    finally:
        inv[name] = mod


def glow(batch):
    """GLOW: saved (both copies) with the library's forward error as its golden."""
    name, cfg = GLOW
    model = fresh()
    torch.manual_seed(1300)
    model.add_adapter(name, config=cfg)
    model.add_classification_head(name, num_labels=3, id2label=dict(enumerate(LABELS3)))
    perturb(model, name, 13000)
    save_both(model, name, "methods")
    try:
        run(model, batch, Stack(name), name)
    except RuntimeError as e:
        err = f"{type(e).__name__}: {str(e)[:200]}"
    else:
        raise AssertionError("the library's GLOW coupling ran on BERT: give it goldens")
    write_json(os.path.join(OUT, "methods", "golden", name + "_error.json"),
               {"case": name, "setup": name, "adapters": [name], "forward_error": err})


def methods(batch):
    model = fresh()
    id2label = dict(enumerate(LABELS3))
    for i, (name, cfg) in enumerate(METHODS):
        torch.manual_seed(800 + i)
        model.add_adapter(name, config=cfg)
        kind = METHOD_HEADS.get(name)
        if kind == "tagging":
            model.add_tagging_head(name, num_labels=len(LABELS5), id2label=dict(enumerate(LABELS5)))
        elif kind == "multilabel":
            model.add_classification_head(name, num_labels=3, multilabel=True, id2label=id2label)
        else:
            model.add_classification_head(name, num_labels=3, id2label=id2label)
        perturb(model, name, 8000 + i)
    for j, (names, fcfg) in enumerate(METHOD_FUSIONS):
        torch.manual_seed(900 + j)
        model.add_adapter_fusion(Fuse(*names), config=fcfg)
        fname = ",".join(names)
        model.add_classification_head(fname, num_labels=3, id2label=id2label)
        perturb(model, fname, 9000 + j)
    model.eval()
    for name, _ in METHODS:
        save_both(model, name, "methods")
    for names, _ in METHOD_FUSIONS:
        for kind, st in (("adapters", False), ("adapters_st", True)):
            model.save_adapter_fusion(os.path.join(OUT, "methods", kind, "fusion_" + "_".join(names)), names,
                                      with_head=True, use_safetensors=st)

    def bare(head):
        model.active_head = None
        model.set_active_adapters(None)
        with torch.no_grad():
            return model(**batch, head=head).logits

    index, results = [], {}
    for cid, sstr, setup, head in METHOD_CASES:
        logits = compute(model, batch, setup, head)
        effs, s0 = [], 0
        for h, lg in (logits.items() if isinstance(logits, dict) else [(head, logits)]):
            ref = bare(h)
            if isinstance(setup, BatchSplit):  # each head reads its slice of the batch
                ref = ref[s0:s0 + lg.shape[0]]
                s0 += lg.shape[0]
            effs.append(float((lg - ref).abs().max()))
        eff = min(effs)
        assert eff > MIN_EFFECT, (cid, eff)
        results[cid] = logits
        doc = {"case": cid, "setup": sstr, "adapters": sorted(setup.flatten()), "fusions": [],
               "head": head if head is not None else list(logits), "effect": eff,
               "logits": {k: tolist(v) for k, v in logits.items()} if isinstance(logits, dict) else tolist(logits)}
        if setup.first() in model.base_model.invertible_adapters:
            doc["inv_effect"] = maxdiff(without_inv(model, setup.first(), lambda: compute(model, batch, setup, head)),
                                        logits)
            assert doc["inv_effect"] > MIN_INV_EFFECT, (cid, doc["inv_effect"])
        if gated(setup):
            doc["unpadded"] = True
            doc["padded_batch_max_abs_diff"] = maxdiff(run_padded(model, batch, setup, head), logits)
        write_json(os.path.join(OUT, "methods", "golden", cid + ".json"), doc)
        index.append(cid)

    glow(batch)

    # merge_adapter of a VeRA: W + delta_w * alpha/r (exactly the forward, bias untouched)
    model.active_head = None
    model.set_active_adapters("vera")
    model.merge_adapter("vera")
    with torch.no_grad():
        merged = model(**batch, head="vera").logits
    model.reset_adapter()
    write_json(os.path.join(OUT, "methods", "golden", "vera_merged.json"),
               {"case": "vera_merged", "setup": "vera", "merge": "vera", "adapters": ["vera"], "fusions": [],
                "head": "vera", "logits": tolist(merged), "logits_unmerged": tolist(results["vera"])})
    index.append("vera_merged")

    # fusion temperature: a fresh copy of the fusion in a fresh model, called len(calls) times
    for names, _ in METHOD_FUSIONS:
        fname = ",".join(names)
        cid = "fuse_temperature"
        runs = {}
        for kind, st in (("adapters", False), ("adapters_st", True)):
            m = fresh()
            for n in names:
                m.load_adapter(os.path.join(OUT, "methods", kind, n), use_safetensors=st)
            m.load_adapter_fusion(os.path.join(OUT, "methods", kind, "fusion_" + "_".join(names)), with_head=True,
                                  use_safetensors=st)
            m.set_active_adapters(Fuse(*names))
            got = {}
            small = {k: v[:TEMPERATURE_BATCH] for k, v in batch.items()}
            with torch.no_grad():
                for call in range(1, TEMPERATURE_CALLS[-1] + 1):
                    logits = m(**small, head=fname).logits
                    if call in TEMPERATURE_CALLS:
                        got[call] = logits
            runs[kind] = got
        for call in TEMPERATURE_CALLS:
            assert float((runs["adapters"][call] - runs["adapters_st"][call]).abs().max()) < RELOAD_TOL
        # the annealing must show: the first and the last call differ measurably
        drift = float((runs["adapters"][TEMPERATURE_CALLS[0]] - runs["adapters"][TEMPERATURE_CALLS[-1]]).abs().max())
        assert drift > MIN_EFFECT, drift
        write_json(os.path.join(OUT, "methods", "golden", cid + ".json"),
                   {"case": cid, "setup": f"Fuse({fname})", "adapters": names, "fusions": ["fusion_" + "_".join(names)],
                    "head": fname, "batch": TEMPERATURE_BATCH, "calls": TEMPERATURE_CALLS, "drift_first_last": drift,
                    "logits_per_call": [tolist(runs["adapters"][c]) for c in TEMPERATURE_CALLS]})
        index.append(cid)

    # reload check: both copies into fresh models reproduce every case (the fusion has its own check)
    for kind, st in (("adapters", False), ("adapters_st", True)):
        m = fresh()
        for name, _ in METHODS:
            assert m.load_adapter(os.path.join(OUT, "methods", kind, name), use_safetensors=st) == name
        for cid, sstr, setup, head in METHOD_CASES:
            d = maxdiff(compute(m, batch, setup, head), results[cid])
            assert d < RELOAD_TOL, (kind, cid, d)
    index += prompts(batch)
    write_json(os.path.join(OUT, "methods", "golden", "index.json"), {"cases": index})
    return len(index)


# The same methods on the real all-MiniLM-L6-v2 where the files stay small (1-layer heads, small
# ranks and bottlenecks). Left out for size: VeRA (vera_B is hidden×hidden per linear), LoReFT
# (its orthogonal base is hidden×hidden per unit) and fusion temperature (three hidden×hidden
# matrices per location), each 1-10 MB here; the tiny model covers them.
MINILM_METHODS = [
    ("act_xielu", SeqBnConfig(reduction_factor=64, non_linearity="xielu")),
    ("compacter", "compacter"),
    ("compacter_pp", "compacter++"),
    ("dora", DoRAConfig(r=2, alpha=4)),
    ("noreft", NoReftConfig(r=1, prefix_positions=2, suffix_positions=1)),
    ("unipelt", UniPELTConfig(prefix_tuning=PrefixTuningConfig(prefix_length=2, bottleneck_size=8),
                              adapter=SeqBnConfig(reduction_factor=64), lora=LoRAConfig(r=2, alpha=2))),
]
MINILM_SENTENCES = 6
# Smaller than the tiny model's 0.3: on 384 units a 0.3 perturbation of a ReFT projection adds
# hundreds to the hidden states, far from any trained adapter.
MINILM_NOISE_STD = 0.1
MINILM_MAX_LENGTH = 128


def minilm_dir():
    """The Hugging Face layout MiniLM (ADAPTERWASM_MINILM_DIR, or ./build.sh model's last line)."""
    d = os.environ.get("ADAPTERWASM_MINILM_DIR")
    if d:
        return d
    out = subprocess.run(["./build.sh", "model"], cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True).stdout
    return out.strip().splitlines()[-1]


def minilm():
    from transformers import AutoTokenizer

    sys.path.insert(0, HERE)
    from sentences import SENTENCES

    mdir = minilm_dir()
    tok = AutoTokenizer.from_pretrained(mdir)
    texts = SENTENCES[:MINILM_SENTENCES]
    enc = tok(texts, padding=True, truncation=True, max_length=MINILM_MAX_LENGTH, return_tensors="pt")
    batch = {k: enc[k] for k in ("input_ids", "attention_mask", "token_type_ids")}

    def load():
        m = BertAdapterModel.from_pretrained(mdir, attn_implementation="eager")
        m.config.name_or_path = "sentence-transformers/all-MiniLM-L6-v2"
        m.eval()
        return m

    model = load()
    golden = {}
    for i, (name, cfg) in enumerate(MINILM_METHODS):
        torch.manual_seed(1100 + i)
        model.add_adapter(name, config=cfg)
        model.add_classification_head(name, num_labels=2, layers=1, id2label={0: "negative", 1: "positive"})
        perturb(model, name, 11000 + i, MINILM_NOISE_STD)
        logits = compute(model, batch, Stack(name), name)
        model.active_head = None
        model.set_active_adapters(None)
        with torch.no_grad():
            bare = model(**batch, head=name).logits
        eff = float((logits - bare).abs().max())
        assert eff > MIN_EFFECT, (name, eff)
        save_both(model, name, "minilm")
        golden[name] = logits
        doc = {"case": name, "setup": name, "adapters": [name], "head": name, "effect": eff,
               "logits": tolist(logits)}
        if gated(Stack(name)):
            doc["unpadded"] = True
            doc["padded_batch_max_abs_diff"] = maxdiff(run_padded(model, batch, Stack(name), name), logits)
        write_json(os.path.join(OUT, "minilm", "golden", name + ".json"), doc)
    for kind, st in (("adapters", False), ("adapters_st", True)):
        m = load()
        for name, _ in MINILM_METHODS:
            assert m.load_adapter(os.path.join(OUT, "minilm", kind, name), use_safetensors=st) == name
            d = float((compute(m, batch, Stack(name), name) - golden[name]).abs().max())
            assert d < RELOAD_TOL, (kind, name, d)
    write_json(os.path.join(OUT, "minilm", "golden", "index.json"),
               {"cases": [n for n, _ in MINILM_METHODS], "sentences": texts,
                "input_ids": batch["input_ids"].tolist(), "attention_mask": batch["attention_mask"].tolist(),
                "token_type_ids": batch["token_type_ids"].tolist()})
    return len(golden)


# Prompt tuning, with eager attention. Under the default SDPA attention the library widens the
# 4-D mask on both axes (utils.prefix_attention_mask(mask, [2, 3])), so the prompt positions'
# queries also attend to padding: their outputs, and the heads that read position 0, then depend
# on how much padding a batch has. Eager attention widens only the key axis: prompt positions are
# attended and padding stays masked for every query. The two agree on unpadded batches (checked
# below); the goldens are eager's, and record SDPA's for the padded batch too.
PROMPTS = [
    ("prompt", PromptTuningConfig(prompt_length=4)),
    ("prompt_bos", PromptTuningConfig(prompt_length=3, combine="prefix_after_bos")),
    ("pa", SeqBnConfig(reduction_factor=8)),
    # an invertible adapter and a prompt in one adapter: the coupling runs on the embedding
    # output first, then the prompt joins (ModelBaseAdaptersMixin.post_embedding_forward)
    ("inv_prompt", ConfigUnion(SeqBnInvConfig(reduction_factor=8), PromptTuningConfig(prompt_length=2))),
]
PROMPT_CASES = [
    ("prompt", "prompt", Stack("prompt"), "prompt"),
    ("prompt_bos", "prompt_bos", Stack("prompt_bos"), "prompt_bos"),
    # only the setup's first adapter adds its prompt (PromptTuningLayer.forward)
    ("stack_prompt_pa", "Stack(prompt,pa)", Stack("prompt", "pa"), "pa"),
    ("stack_pa_prompt", "Stack(pa,prompt)", Stack("pa", "prompt"), "prompt"),
    ("inv_prompt", "inv_prompt", Stack("inv_prompt"), "inv_prompt"),
]


def prompts(batch):
    model = fresh("eager")
    for i, (name, cfg) in enumerate(PROMPTS):
        torch.manual_seed(1200 + i)
        model.add_adapter(name, config=cfg)
        model.add_classification_head(name, num_labels=3, id2label=dict(enumerate(LABELS3)))
        perturb(model, name, 12000 + i)
        save_both(model, name, "methods")
    sdpa = fresh()
    for name, _ in PROMPTS:
        sdpa.load_adapter(os.path.join(OUT, "methods", "adapters", name))
    one = {k: v[:1, : int(batch["attention_mask"][0].sum())] for k, v in batch.items()}  # unpadded
    names = []
    for cid, sstr, setup, head in PROMPT_CASES:
        logits = run(model, batch, setup, head)
        model.active_head = None
        model.set_active_adapters(None)
        with torch.no_grad():
            bare = model(**batch, head=head).logits
        eff = float((logits - bare).abs().max())
        assert eff > MIN_EFFECT, (cid, eff)
        extra = {}
        if setup.first() in model.base_model.invertible_adapters:
            extra["inv_effect"] = maxdiff(without_inv(model, setup.first(), lambda: run(model, batch, setup, head)),
                                          logits)
            assert extra["inv_effect"] > MIN_INV_EFFECT, (cid, extra["inv_effect"])
        s = run(sdpa, batch, setup, head)
        d1 = float((run(sdpa, one, setup, head) - run(model, one, setup, head)).abs().max())
        assert d1 < RELOAD_TOL, (cid, "sdpa and eager differ on an unpadded sequence", d1)
        for kind, st in (("adapters", False), ("adapters_st", True)):
            m = fresh("eager")
            for n in sorted(setup.flatten()):
                m.load_adapter(os.path.join(OUT, "methods", kind, n), use_safetensors=st)
            d = float((run(m, batch, setup, head) - logits).abs().max())
            assert d < RELOAD_TOL, (kind, cid, d)
        write_json(os.path.join(OUT, "methods", "golden", cid + ".json"),
                   {"case": cid, "setup": sstr, "adapters": sorted(setup.flatten()), "fusions": [], "head": head,
                    "attn_implementation": "eager", "effect": eff, "logits": tolist(logits),
                    "logits_sdpa": tolist(s), "max_abs_diff_sdpa_padded": float((s - logits).abs().max()),
                    "max_abs_diff_sdpa_unpadded": d1, **extra})
        names.append(cid)
    return names


# MTL-LoRA (MTLLoRAConfig) and the MultiTask block: task adapters whose lora_A and lora_B are
# shared (model.share_parameters(MultiTask(...)), as MTL-LoRA trains them) and whose task-specific
# diagonal and up-projection weights are their own; the batch's sequences are routed by
# task_ids. Each case runs several task-id patterns. Saved adapters hold their own copy of the
# shared matrices (save_adapter filters by name), so a reload gives the same numbers unshared.
MTL_TASKS = ["t1", "t2", "t3"]
MTL_ADAPTERS = [
    ("t1", MTLLoRAConfig(r=4, alpha=8, n_up_projection=3, attn_matrices=["q", "k", "v"])),
    ("t2", MTLLoRAConfig(r=4, alpha=8, n_up_projection=3, attn_matrices=["q", "k", "v"])),
    ("t3", MTLLoRAConfig(r=4, alpha=8, n_up_projection=3, attn_matrices=["q", "k", "v"])),
    ("lx", LoRAConfig(r=2, alpha=4, attn_matrices=["q", "k", "v"])),
    ("s1", SeqBnConfig(reduction_factor=8)),
    ("s2", SeqBnConfig(reduction_factor=4)),
    # gated MTL-LoRA: its gate averages over the padding in the library, so its goldens are each
    # text run alone, unpadded (as the other gated goldens; MTL_GATED)
    ("tg", MTLLoRAConfig(r=2, alpha=4, n_up_projection=2, use_gating=True, attn_matrices=["q", "k", "v"])),
]
MTL_GATED = {"tg"}
# task-id patterns for the tiny batch (12 sequences), taken modulo the number of children
MTL_PATTERNS = {
    "cycle": [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2],
    "zeros": [0] * 12,
    "mixed": [2, 2, 1, 0, 1, 2, 0, 0, 2, 1, 1, 0],
    "last": [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2],
}
# (case, setup string for Go, setup, head or None = the setup's heads, takes task ids)
MTL_CASES = [
    ("mtl_t1", "t1", Stack("t1"), "t1", False),
    ("multitask3", "MultiTask(t1,t2,t3)", MultiTask("t1", "t2", "t3"), "t1", True),
    ("multitask_lora", "MultiTask(t1,lx)", MultiTask("t1", "lx"), "lx", True),
    ("multitask_stack", "MultiTask(Stack(t1,t2),t3)", MultiTask(Stack("t1", "t2"), "t3"), "t3", True),
    ("multitask_average", "MultiTask(Average(t1,t2,weights=[2,1]),t3)",
     MultiTask(Average("t1", "t2", weights=[2, 1]), "t3"), "t2", True),
    ("stack_lora_multitask", "Stack(lx,MultiTask(t2,t3))", Stack("lx", MultiTask("t2", "t3")), "t3", True),
    # bottleneck layers run compose_multi_task too: pre_forward once for the MultiTask and once
    # more for the BatchSplit it builds
    ("multitask_seq_bn", "MultiTask(s1,s2)", MultiTask("s1", "s2"), "s2", True),
    ("parallel_mtl", "Parallel(t1,t2)", Parallel("t1", "t2"), None, False),
    ("batchsplit_mtl", "BatchSplit(t3,lx,batch_sizes=[5,7])", BatchSplit("t3", "lx", batch_sizes=[5, 7]), None, False),
    ("average_mtl_lora", "Average(t2,lx)", Average("t2", "lx"), "t2", False),
    ("mtl_gate", "tg", Stack("tg"), "tg", False),
    ("multitask_gate", "MultiTask(tg,t1)", MultiTask("tg", "t1"), "tg", True),
]
# (case, setup, task_ids): what the library refuses, with its error
MTL_ERRORS = [
    ("multitask_mixed_methods", "MultiTask(t1,s1)", MultiTask("t1", "s1"), [0, 1] * 6),
    ("task_ids_missing", "MultiTask(t1,t2,t3)", MultiTask("t1", "t2", "t3"), None),
    ("task_ids_negative", "MultiTask(t1,t2,t3)", MultiTask("t1", "t2", "t3"), [-1] + [0] * 11),
    ("task_ids_out_of_range", "MultiTask(t1,t2,t3)", MultiTask("t1", "t2", "t3"), [3] + [0] * 11),
    ("task_ids_short", "MultiTask(t1,t2,t3)", MultiTask("t1", "t2", "t3"), [0] * 11),
    ("task_ids_long", "MultiTask(t1,t2,t3)", MultiTask("t1", "t2", "t3"), [0] * 13),
    ("task_ids_float", "MultiTask(t1,t2,t3)", MultiTask("t1", "t2", "t3"), [0.0] * 12),
]


def share_and_perturb(model, tasks, seed, std):
    """share_parameters(MultiTask(*tasks)), then perturb the shared matrices once and each task's
    own parameters (named_parameters lists a shared tensor once, under the shared name)."""
    model.share_parameters(MultiTask(*tasks))
    perturb(model, ",".join(tasks), seed, std)
    for i, t in enumerate(tasks):
        perturb(model, t, seed + 1 + i, std)


def run_tasks(model, batch, setup, head, task_ids):
    model.active_head = None
    model.set_active_adapters(setup)
    kw = {} if task_ids is None else {"task_ids": torch.tensor(task_ids)}
    with torch.no_grad():
        if head is None:
            out = model(**batch, **kw)
            return {h: o.logits for h, o in zip(list(model.active_head), out.head_outputs)}
        return model(**batch, head=head, **kw).logits


def find_multitask(setup):
    if isinstance(setup, MultiTask):
        return setup
    for c in getattr(setup, "children", []):
        if not isinstance(c, str) and (f := find_multitask(c)) is not None:
            return f
    return None


def run_tasks_alone(model, batch, setup, head, task_ids):
    """run_tasks on each text alone, unpadded, with its own task id (gated adapters)."""
    rows = []
    for i in range(batch["input_ids"].shape[0]):
        n = int(batch["attention_mask"][i].sum())
        one = {k: v[i:i + 1, :n] for k, v in batch.items()}
        rows.append(run_tasks(model, one, setup, head, None if task_ids is None else task_ids[i:i + 1]))
    return torch.cat(rows, 0)


def mtl_compute(model, batch, setup, head, task_ids):
    if MTL_GATED & set(setup.flatten()):
        return run_tasks_alone(model, batch, setup, head, task_ids)
    return run_tasks(model, batch, setup, head, task_ids)


def mtl_patterns(setup, n):
    mt = find_multitask(setup)
    if mt is None:
        return {"none": None}
    k = len(mt.children)
    return {p: [i % k for i in ids[:n]] for p, ids in MTL_PATTERNS.items()}


def mtl(batch):
    sub = "mtl"
    shutil.rmtree(os.path.join(OUT, sub), ignore_errors=True)
    model = fresh()
    id2label = dict(enumerate(LABELS3))
    for i, (name, cfg) in enumerate(MTL_ADAPTERS):
        torch.manual_seed(1400 + i)
        model.add_adapter(name, config=cfg)
        model.add_classification_head(name, num_labels=3, id2label=id2label)
    share_and_perturb(model, MTL_TASKS, 14000, NOISE_STD)
    for i, (name, _) in enumerate(MTL_ADAPTERS):
        if name not in MTL_TASKS:
            perturb(model, name, 14100 + i)
    model.eval()
    for name, _ in MTL_ADAPTERS:
        save_both(model, name, sub)
    n = batch["input_ids"].shape[0]
    index, results = [], {}
    for cid, sstr, setup, head, tasks in MTL_CASES:
        pats = mtl_patterns(setup, n)
        for pname, ids in pats.items():
            case = cid if ids is None else f"{cid}_{pname}"
            logits = mtl_compute(model, batch, setup, head, ids)
            effs, s0 = [], 0
            for h, lg in (logits.items() if isinstance(logits, dict) else [(head, logits)]):
                ref = run_tasks(model, batch, None, h, None)
                if isinstance(setup, BatchSplit):
                    ref = ref[s0:s0 + lg.shape[0]]
                    s0 += lg.shape[0]
                effs.append(float((lg - ref).abs().max()))
            eff = min(effs)
            assert eff > MIN_EFFECT, (case, eff)
            doc = {"case": case, "setup": sstr, "adapters": sorted(setup.flatten()), "fusions": [],
                   "head": head if head is not None else list(logits), "task_ids": ids, "effect": eff,
                   "logits": {k: tolist(v) for k, v in logits.items()} if isinstance(logits, dict) else tolist(logits)}
            if ids is not None and pname != "zeros":
                # the routing must show: the same setup with every sequence on task 0 differs
                z = mtl_compute(model, batch, setup, head, [0] * n)
                doc["task_effect"] = maxdiff(logits, z)
                assert doc["task_effect"] > MIN_EFFECT, (case, doc["task_effect"])
            if MTL_GATED & set(setup.flatten()):
                doc["unpadded"] = True
                doc["padded_batch_max_abs_diff"] = maxdiff(run_tasks(model, batch, setup, head, ids), logits)
            results[case] = (setup, head, ids, logits)
            write_json(os.path.join(OUT, sub, "golden", case + ".json"), doc)
            index.append(case)
    errors = []
    for cid, sstr, setup, ids in MTL_ERRORS:
        model.active_head = None
        model.set_active_adapters(setup)
        kw = {} if ids is None else {"task_ids": torch.tensor(ids)}
        try:
            with torch.no_grad():
                model(**batch, head="t1", **kw)
        except Exception as e:
            errors.append({"case": cid, "setup": sstr, "task_ids": ids,
                           "forward_error": f"{type(e).__name__}: {str(e)[:200]}"})
        else:
            raise AssertionError(f"the library ran {cid}: give it goldens")
    for kind, st in (("adapters", False), ("adapters_st", True)):
        m = fresh()
        for name, _ in MTL_ADAPTERS:
            assert m.load_adapter(os.path.join(OUT, sub, kind, name), use_safetensors=st) == name
        for case, (setup, head, ids, logits) in results.items():
            d = maxdiff(mtl_compute(m, batch, setup, head, ids), logits)
            assert d < RELOAD_TOL, (kind, case, d)
    write_json(os.path.join(OUT, sub, "golden", "index.json"), {"cases": index, "errors": errors}, indent=1)
    return len(index)


# MTL-LoRA on the real all-MiniLM-L6-v2: two tasks sharing lora_A/lora_B, two up-projections.
MINILM_MTL = [
    ("m1", MTLLoRAConfig(r=2, alpha=4, n_up_projection=2)),
    ("m2", MTLLoRAConfig(r=2, alpha=4, n_up_projection=2)),
]
MINILM_MTL_CASES = [
    ("mtl_m1", "m1", Stack("m1"), "m1", None),
    ("multitask_alternate", "MultiTask(m1,m2)", MultiTask("m1", "m2"), "m1", [0, 1, 0, 1, 0, 1]),
    ("multitask_halves", "MultiTask(m1,m2)", MultiTask("m1", "m2"), "m2", [1, 1, 1, 0, 0, 0]),
    ("multitask_ones", "MultiTask(m1,m2)", MultiTask("m1", "m2"), "m1", [1, 1, 1, 1, 1, 1]),
]


def minilm_mtl():
    from transformers import AutoTokenizer

    sys.path.insert(0, HERE)
    from sentences import SENTENCES

    sub = "minilm_mtl"
    shutil.rmtree(os.path.join(OUT, sub), ignore_errors=True)
    mdir = minilm_dir()
    tok = AutoTokenizer.from_pretrained(mdir)
    texts = SENTENCES[:MINILM_SENTENCES]
    enc = tok(texts, padding=True, truncation=True, max_length=MINILM_MAX_LENGTH, return_tensors="pt")
    batch = {k: enc[k] for k in ("input_ids", "attention_mask", "token_type_ids")}

    def load():
        m = BertAdapterModel.from_pretrained(mdir, attn_implementation="eager")
        m.config.name_or_path = "sentence-transformers/all-MiniLM-L6-v2"
        m.eval()
        return m

    model = load()
    for i, (name, cfg) in enumerate(MINILM_MTL):
        torch.manual_seed(1500 + i)
        model.add_adapter(name, config=cfg)
        model.add_classification_head(name, num_labels=2, layers=1, id2label={0: "negative", 1: "positive"})
    share_and_perturb(model, [n for n, _ in MINILM_MTL], 15000, MINILM_NOISE_STD)
    for name, _ in MINILM_MTL:
        save_both(model, name, sub)
    golden = {}
    for cid, sstr, setup, head, ids in MINILM_MTL_CASES:
        logits = run_tasks(model, batch, setup, head, ids)
        eff = float((logits - run_tasks(model, batch, None, head, None)).abs().max())
        assert eff > MIN_EFFECT, (cid, eff)
        doc = {"case": cid, "setup": sstr, "adapters": sorted(setup.flatten()), "head": head, "task_ids": ids,
               "effect": eff, "logits": tolist(logits)}
        if ids is not None:
            doc["task_effect"] = maxdiff(logits, run_tasks(model, batch, setup, head, [0] * len(ids)))
        golden[cid] = (setup, head, ids, logits)
        write_json(os.path.join(OUT, sub, "golden", cid + ".json"), doc)
    assert max(json.load(open(os.path.join(OUT, sub, "golden", c + ".json"))).get("task_effect", 0)
               for c, *_ in MINILM_MTL_CASES) > MIN_EFFECT
    for kind, st in (("adapters", False), ("adapters_st", True)):
        m = load()
        for name, _ in MINILM_MTL:
            assert m.load_adapter(os.path.join(OUT, sub, kind, name), use_safetensors=st) == name
        for cid, (setup, head, ids, logits) in golden.items():
            d = float((run_tasks(m, batch, setup, head, ids) - logits).abs().max())
            assert d < RELOAD_TOL, (kind, cid, d)
    write_json(os.path.join(OUT, sub, "golden", "index.json"),
               {"cases": [c for c, *_ in MINILM_MTL_CASES], "sentences": texts,
                "input_ids": batch["input_ids"].tolist(), "attention_mask": batch["attention_mask"].tolist(),
                "token_type_ids": batch["token_type_ids"].tolist()})
    return len(golden)


def main():
    """All sections; `make_methods.py mtl` regenerates only the MTL-LoRA ones (mtl/, minilm_mtl/)."""
    logging.getLogger("adapters").setLevel(logging.ERROR)
    transformers.logging.set_verbosity_error()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    base = json.load(open(os.path.join(TINY, "golden", "base.json")))
    batch = {k: torch.tensor(base[k]) for k in ("input_ids", "attention_mask", "token_type_ids")}
    if sys.argv[1:] == ["mtl"]:
        print(f"adapters {adapters.__version__}: {mtl(batch)} MTL-LoRA cases, {minilm_mtl()} MiniLM MTL-LoRA cases")
        return
    shutil.rmtree(OUT, ignore_errors=True)
    n_act = activations(batch)
    n_reg = registry(batch)
    n_met = methods(batch)
    n_minilm = minilm()
    n_mtl = mtl(batch)
    n_minilm_mtl = minilm_mtl()
    print(f"adapters {adapters.__version__}: {n_act} activations, {n_reg} registry configs, {n_met} method cases, "
          f"{n_minilm} MiniLM cases, {n_mtl} MTL-LoRA cases, {n_minilm_mtl} MiniLM MTL-LoRA cases")


if __name__ == "__main__":
    main()
