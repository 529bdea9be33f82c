"""Regenerate testdata/archs: small random-weight RoBERTa, XLM-RoBERTa and DistilBERT encoders
(each of its real config's shape family: the same ratios, keys and options, a small hidden size),
adapters of several methods saved by the real `adapters` library on each, and golden outputs.

Run from the repository root with the pinned venv:

    HF_HUB_OFFLINE=1 tools/reference/.venv/bin/python tools/reference/make_archs.py

Tokenizers: RoBERTa reads the byte-level BPE and XLM-R the Unigram tokenizer.json that
make_tokenizer_golden.py trained (testdata/tokenizer/{bpe,unigram}; pad id 1 as in the real
roberta-base and xlm-roberta-base), DistilBERT the real bert-base-uncased WordPiece file of
testdata/tiny (distilbert-base-uncased's vocabulary). Each is copied into its model directory.

Per architecture it writes model/ (config.json, model.safetensors without the base-model prefix,
tokenizer.json), adapters/ (.bin) and adapters_st/ (safetensors) as the library saves them, and
golden/ in testdata/tiny's format (index.json, base.json with the padded batch's ids and the last
hidden state, one file per case). The batch is the shared golden sentences plus ARCH_TEXTS, padded
as the library's tokenizer pads (RoBERTa's position ids then come from the padding index).

MAD-X: language adapters with invertible adapters (seq_bn_inv, double_seq_bn_inv) alone and under
task adapters (Stack(lang, task)); each such golden records inv_effect (the logits' move when the
coupling alone is taken out); a GLOW coupling is saved with the library's error as its golden.

Everything is seeded; the script checks that every case moves the logits by more than MIN_EFFECT
against the bare encoder with the same head, and that every saved directory (.bin and
safetensors) loads back into a fresh model and reproduces the goldens.
"""

import logging
import os
import shutil
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
import transformers  # noqa: E402
from transformers import (  # noqa: E402
    DistilBertConfig,
    DistilBertModel,
    DistilBertTokenizerFast,
    PreTrainedTokenizerFast,
    RobertaConfig,
    RobertaModel,
    XLMRobertaConfig,
    XLMRobertaModel,
)

from tokenizers import Tokenizer  # noqa: E402

import adapters  # noqa: E402
from adapters import (  # noqa: E402
    DistilBertAdapterModel,
    DoubleSeqBnConfig,
    DoubleSeqBnInvConfig,
    IA3Config,
    LoRAConfig,
    ParBnConfig,
    PrefixTuningConfig,
    PromptTuningConfig,
    RobertaAdapterModel,
    SeqBnConfig,
    SeqBnInvConfig,
    XLMRobertaAdapterModel,
)
from adapters.composition import BatchSplit, Fuse, Parallel, Stack  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_tiny import (  # noqa: E402
    SAFETENSORS_WORKAROUND,
    bare,
    maxdiff,
    perturb,
    run,
    save_adapter_safetensors,
    serial,
    tolist,
    write_json,
)
from sentences import SENTENCES  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
OUT = os.path.join(ROOT, "testdata", "archs")

MAX_LENGTH = 48
MIN_EFFECT = 1e-2
RELOAD_TOL = 1e-5

# Texts beyond the shared sentences: a pad token written inside a text (RoBERTa numbers it as
# padding: create_position_ids_from_input_ids reads the ids, not the attention mask) and a short one.
ARCH_TEXTS = ["A <pad> inside the text shifts nothing after it.", "ok"]
TEXTS = SENTENCES + ARCH_TEXTS

LABELS3 = ["negative", "neutral", "positive"]
LABELS4 = ["spam", "finance", "food", "travel"]
LABELS5 = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]

SPECIALS = dict(bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>",
                cls_token="<s>", sep_token="</s>")


def roberta_tok(path):
    # add_prefix_space as the file says: PreTrainedTokenizerFast would otherwise set the ByteLevel
    # pre-tokenizer's to False (checked against the tokenizers library in make())
    return PreTrainedTokenizerFast(tokenizer_file=path, add_prefix_space=True, **SPECIALS)


def roberta_family(config_cls, base_cls, model_cls, vocab_size, tokenizer, name):
    """RoBERTa's shape family at hidden 32; positions max_length + padding_idx + 1 as
    roberta-base's (and xlm-roberta-base's) 514 = 512 + 2."""
    return dict(
        config=lambda: config_cls(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                  intermediate_size=128, max_position_embeddings=MAX_LENGTH + 2, type_vocab_size=1,
                                  pad_token_id=1, bos_token_id=0, eos_token_id=2, layer_norm_eps=1e-5,
                                  hidden_act="gelu", initializer_range=0.2),
        base=lambda c: base_cls(c, add_pooling_layer=True),
        model=model_cls,
        tokenizer=os.path.join(ROOT, "testdata", "tokenizer", tokenizer, "tokenizer.json"),
        tok=roberta_tok,
        inputs=("input_ids", "attention_mask", "token_type_ids"),
        name=name,
    )


# name -> base config, base class, adapter model class, tokenizer file and factory, the inputs
# the model takes, model_name. Hidden 32, 2 layers, 4 heads, FFN 4x hidden as the real configs.
ARCHS = {
    "roberta": roberta_family(RobertaConfig, RobertaModel, RobertaAdapterModel, 1501, "bpe", "adapterwasm/tiny-roberta"),
    "xlm-roberta": roberta_family(XLMRobertaConfig, XLMRobertaModel, XLMRobertaAdapterModel, 1001, "unigram",
                                  "adapterwasm/tiny-xlm-roberta"),
    # sinusoidal positions (distilbert-base-uncased learns them; both are a weight in the checkpoint)
    "distilbert": dict(
        config=lambda: DistilBertConfig(vocab_size=30522, dim=32, n_layers=2, n_heads=4, hidden_dim=128,
                                        max_position_embeddings=64, sinusoidal_pos_embds=True, activation="gelu",
                                        pad_token_id=0, initializer_range=0.2),
        base=lambda c: DistilBertModel(c),
        model=DistilBertAdapterModel,
        tokenizer=os.path.join(ROOT, "testdata", "tiny", "model", "tokenizer.json"),
        tok=lambda p: DistilBertTokenizerFast(tokenizer_file=p, do_lower_case=True),
        inputs=("input_ids", "attention_mask"),
        name="adapterwasm/tiny-distilbert",
    ),
}

# name -> (adapter config, head). Heads: classification (CLS token; the pooler where asked),
# multilabel classification, tagging.
ADAPTERS = [
    ("seq_bn", SeqBnConfig(reduction_factor=4), ("classification", LABELS3, {})),
    ("seq_bn_b", SeqBnConfig(reduction_factor=8, non_linearity="gelu"), ("classification", LABELS3, {})),
    ("double_seq_bn", DoubleSeqBnConfig(reduction_factor=4), ("classification", LABELS3, {"use_pooler": True})),
    ("par_bn", ParBnConfig(reduction_factor=4), ("multilabel_classification", LABELS4, {})),
    ("lora", LoRAConfig(r=4, alpha=8, attn_matrices=["q", "k", "v"], intermediate_lora=True, output_lora=True),
     ("tagging", LABELS5, {})),
    ("ia3", IA3Config(), ("classification", LABELS3, {})),
    ("prefix", PrefixTuningConfig(prefix_length=8, bottleneck_size=64), ("classification", LABELS3, {})),
    ("prompt", PromptTuningConfig(prompt_length=4), ("classification", LABELS3, {})),
    # MAD-X language adapters: a bottleneck with an invertible adapter (NICE coupling) on the
    # embedding output, which runs for the setup's first adapter only
    # (InvertibleAdaptersMixin.invertible_adapters_forward). Appended last: the seeds of the
    # adapters above stay those of the earlier runs, so their files and goldens are unchanged.
    ("lang_inv", SeqBnInvConfig(reduction_factor=4), ("classification", LABELS3, {})),
    ("lang_inv_b", DoubleSeqBnInvConfig(reduction_factor=8, inv_adapter_reduction_factor=4),
     ("classification", LABELS3, {})),
]
HEAD_OF = {n: h for n, _, h in ADAPTERS}
# Prompt tuning fails inside the library on DistilBERT with eager attention (its TransformerBlock
# widens a 2-D mask on axes [2, 3]: IndexError), and under SDPA the prompt attends to padding. So
# DistilBERT's prompt cases run on an SDPA copy of the model, each text alone and unpadded (where
# SDPA and eager agree), the logits stacked in batch order, as make_extra.py records the gated
# cases. Everything else stays eager: DistilBERT's prefix tuning under SDPA moves the logits by
# up to 2.3 against eager on the padded batch.
PER_TEXT = {"distilbert": {"prompt"}}
FUSION_NAME = "seq_bn,seq_bn_b"
# A case whose setup's first adapter has an invertible module must show it: dropping the module
# alone moves the logits by more than this (as make_methods.py checks on BERT).
MIN_INV_EFFECT = 0.1
# GLOW coupling (inv_adapter="glow"): the library adds and saves it but fails to run it (as on
# BERT, make_methods.py GLOW); its golden records the library's error per architecture.
GLOW = ("inv_glow", SeqBnConfig(reduction_factor=8, inv_adapter="glow", inv_adapter_reduction_factor=2))






def add_head(model, name, spec, arch):
    kind, labels, extra = spec
    if arch == "distilbert":
        extra = {k: v for k, v in extra.items() if k != "use_pooler"}  # DistilBERT has no pooler
    id2label = dict(enumerate(labels))
    if kind == "tagging":
        model.add_tagging_head(name, num_labels=len(labels), layers=1, id2label=id2label)
    else:
        model.add_classification_head(name, num_labels=len(labels), layers=2, activation_function="tanh",
                                      multilabel=kind == "multilabel_classification", id2label=id2label, **extra)












def compute(model, sdpa, batch, setup, head, arch, names):
    """run(), or for a PER_TEXT case each text alone and unpadded on the SDPA model, the logits stacked."""
    if not PER_TEXT.get(arch, set()) & set(names):
        return run(model, batch, setup, head)
    model = sdpa
    rows = []
    for i in range(batch["input_ids"].shape[0]):
        n = int(batch["attention_mask"][i].sum())
        rows.append(run(model, {k: v[i:i + 1, :n] for k, v in batch.items()}, setup, head))
    return torch.cat(rows)


def without_inv(model, name, fn):
    """fn() with the invertible module of adapter name taken out for the call."""
    inv = model.base_model.invertible_adapters
    mod = inv[name]
    del inv[name]
    try:
        return fn()
    finally:
        inv[name] = mod


def glow(arch, spec, model_dir, out, batch):
    """GLOW on this architecture: saved (.bin and safetensors) with the library's forward error as
    its golden (golden/inv_glow_error.json, not in the index: there are no logits to match)."""
    name, cfg = GLOW
    model = spec["model"].from_pretrained(model_dir, attn_implementation="eager")
    model.eval()
    torch.manual_seed(300)
    model.add_adapter(name, config=cfg)
    add_head(model, name, ("classification", LABELS3, {}), arch)
    perturb(model, name, 3000)
    model.save_adapter(os.path.join(out, "adapters", name), name, with_head=True)
    save_adapter_safetensors(model, os.path.join(out, "adapters_st", name), name, os.path.join(out, "adapters", name))
    try:
        run(model, batch, Stack(name), name)
    except RuntimeError as e:
        err = f"{type(e).__name__}: {str(e)[:200]}"
    else:
        raise AssertionError(f"{arch}: the library's GLOW coupling ran: give it goldens")
    write_json(os.path.join(out, "golden", name + "_error.json"),
               {"case": name, "setup": name, "adapters": [name], "forward_error": err})
    print(f"{arch}: GLOW fails in the library: {err}")


def make(arch, spec):
    out = os.path.join(OUT, arch)
    model_dir, golden_dir = os.path.join(out, "model"), os.path.join(out, "golden")
    shutil.rmtree(out, ignore_errors=True)

    torch.manual_seed(4321)
    base = spec["base"](spec["config"]())
    base.eval()
    base.save_pretrained(model_dir, safe_serialization=True)
    shutil.copyfile(spec["tokenizer"], os.path.join(model_dir, "tokenizer.json"))
    tok = spec["tok"](spec["tokenizer"])
    enc = tok(TEXTS, padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt")
    batch = {k: enc[k] for k in spec["inputs"]}
    raw = Tokenizer.from_file(spec["tokenizer"]).encode_batch(TEXTS)
    for i, e in enumerate(raw):
        n = int(enc["attention_mask"][i].sum())
        assert e.ids[:n - 1] == enc["input_ids"][i][:n - 1].tolist(), (arch, i, e.ids, enc["input_ids"][i])
    B, T = enc["input_ids"].shape
    with torch.no_grad():
        bo = base(**batch)
    write_json(os.path.join(golden_dir, "base.json"), {
        "model_type": base.config.model_type,
        "max_length": MAX_LENGTH,
        "sentences": TEXTS,
        "input_ids": enc["input_ids"].tolist(),
        "attention_mask": enc["attention_mask"].tolist(),
        "token_type_ids": enc["token_type_ids"].tolist() if "token_type_ids" in batch else None,
        "pad_token_id": tok.pad_token_id,
        "last_hidden_state": tolist(bo.last_hidden_state),
    })

    # eager attention: the prompt-tuning cases follow it (see make_methods.py PROMPTS)
    model = spec["model"].from_pretrained(model_dir, attn_implementation="eager")
    model.config.name_or_path = spec["name"]
    model.eval()
    with torch.no_grad():
        check = model.base_model(**batch).last_hidden_state
    d = maxdiff(check, bo.last_hidden_state)
    assert d < 1e-5, f"{arch}: adapter model does not reproduce the base: {d}"

    for i, (name, cfg, head) in enumerate(ADAPTERS):
        torch.manual_seed(100 + i)
        model.add_adapter(name, config=cfg)
        add_head(model, name, head, arch)
        perturb(model, name, 1000 + i)
    torch.manual_seed(200)
    model.add_adapter_fusion(Fuse("seq_bn", "seq_bn_b"))
    add_head(model, FUSION_NAME, ("classification", LABELS3, {}), arch)
    perturb(model, FUSION_NAME, 2000)
    model.eval()

    for kind, st in (("adapters", False), ("adapters_st", True)):
        os.makedirs(os.path.join(out, kind))
        model.save_adapter_fusion(os.path.join(out, kind, "fusion"), ["seq_bn", "seq_bn_b"], with_head=True,
                                  use_safetensors=st)
    for name, _, _ in ADAPTERS:
        # prefix tuning's pool is saved once per layer too, as shared tensors safetensors refuses:
        # make_tiny's fallback writes the .bin's keys as copies
        model.save_adapter(os.path.join(out, "adapters", name), name, with_head=True)
        save_adapter_safetensors(model, os.path.join(out, "adapters_st", name), name, os.path.join(out, "adapters", name))

    def load_all(kind, attn):
        m = spec["model"].from_pretrained(model_dir, attn_implementation=attn)
        m.eval()
        for name, _, _ in ADAPTERS:
            assert m.load_adapter(os.path.join(out, kind, name), use_safetensors=kind == "adapters_st") == name
        m.load_adapter_fusion(os.path.join(out, kind, "fusion"), with_head=True, use_safetensors=kind == "adapters_st")
        return m

    sdpa = load_all("adapters", "sdpa")
    heads = [n for n, _, _ in ADAPTERS] + [FUSION_NAME]
    ref = bare(model, batch, heads)
    k = 5
    cases = [(n, n, Stack(n), n, [n], {}) for n, _, _ in ADAPTERS]
    cases += [
        ("stack_lora_seq_bn", "Stack(lora,seq_bn)", Stack("lora", "seq_bn"), "seq_bn", ["lora", "seq_bn"], {}),
        ("stack_prefix_par_bn", "Stack(prefix,par_bn)", Stack("prefix", "par_bn"), "par_bn", ["prefix", "par_bn"], {}),
        ("fuse_seq_bn_seq_bn_b", "Fuse(seq_bn,seq_bn_b)", Fuse("seq_bn", "seq_bn_b"), FUSION_NAME,
         ["seq_bn", "seq_bn_b", "fusion"], {}),
        # (Parallel(seq_bn,lora) fails inside the library: LoRALinear.com gets no scaling for the
        # bottleneck's channel; so do Parallel(seq_bn,par_bn), post_forward's shapes differing, and
        # Parallel(lora,ia3), ia3 having no module at the query)
        ("parallel_seq_bn_seq_bn_b", "Parallel(seq_bn,seq_bn_b)", Parallel("seq_bn", "seq_bn_b"), None,
         ["seq_bn", "seq_bn_b"], {}),
        # (BatchSplit(seq_bn,ia3) and BatchSplit(seq_bn,double_seq_bn) fail inside the library: a
        # branch without a module at a site)
        ("batchsplit_seq_bn_seq_bn_b", f"BatchSplit(seq_bn,seq_bn_b,batch_sizes=[{k},{B - k}])",
         BatchSplit("seq_bn", "seq_bn_b", batch_sizes=[k, B - k]), None, ["seq_bn", "seq_bn_b"],
         {"batch_sizes": [k, B - k]}),
        # MAD-X (Pfeiffer et al. 2020): the language adapter, whose invertible adapter runs on the
        # embeddings, stacked under a task adapter whose head reads the output; with a LoRA task
        # adapter and with a fusion of task adapters. The other order runs no invertible adapter
        # (seq_bn, the first, has none). Parallel runs the first branch's invertible adapter
        # once, on the whole batch, before it is replicated.
        ("madx_stack_lang_inv_seq_bn", "Stack(lang_inv,seq_bn)", Stack("lang_inv", "seq_bn"), "seq_bn",
         ["lang_inv", "seq_bn"], {}),
        ("madx_stack_lang_inv_b_lora", "Stack(lang_inv_b,lora)", Stack("lang_inv_b", "lora"), "lora",
         ["lang_inv_b", "lora"], {}),
        ("madx_stack_lang_inv_fuse", "Stack(lang_inv,Fuse(seq_bn,seq_bn_b))",
         Stack("lang_inv", Fuse("seq_bn", "seq_bn_b")), FUSION_NAME, ["lang_inv", "seq_bn", "seq_bn_b", "fusion"],
         {}),
        ("stack_seq_bn_lang_inv", "Stack(seq_bn,lang_inv)", Stack("seq_bn", "lang_inv"), "lang_inv",
         ["seq_bn", "lang_inv"], {}),
        ("parallel_lang_inv_seq_bn", "Parallel(lang_inv,seq_bn)", Parallel("lang_inv", "seq_bn"), None,
         ["lang_inv", "seq_bn"], {}),
    ]
    index = {"model_type": base.config.model_type, "max_length": MAX_LENGTH, "batch_size": B, "seq_len": T,
             "base": "base.json", "cases": []}
    results, effects = {}, {}
    for cid, sstr, setup, head, names, extra in cases:
        logits = compute(model, sdpa, batch, setup, head, arch, names)
        if isinstance(setup, BatchSplit):
            lo, diffs = 0, []
            for h, bs in zip(logits, setup.batch_sizes):
                diffs.append(maxdiff(logits[h], ref[h][lo:lo + bs]))
                lo += bs
            eff = max(diffs)
        elif isinstance(logits, dict):
            eff = max(maxdiff(logits[h], ref[h]) for h in logits)
        else:
            eff = maxdiff(logits, ref[head])
        assert eff > MIN_EFFECT, f"{arch} {cid}: logits moved only {eff}"
        if setup.first() in model.base_model.invertible_adapters:
            extra = dict(extra, inv_effect=maxdiff(without_inv(
                model, setup.first(), lambda: compute(model, sdpa, batch, setup, head, arch, names)), logits))
            assert extra["inv_effect"] > MIN_INV_EFFECT, f"{arch} {cid}: invertible adapter moved only {extra}"
        effects[cid], results[cid] = eff, logits
        used = list(logits) if isinstance(logits, dict) else [head]
        write_json(os.path.join(golden_dir, f"{cid}.json"), {
            "case": cid,
            "setup": sstr,
            "adapters": {n: f"adapters/{n}" for n in names},
            "adapters_safetensors": {n: f"adapters_st/{n}" for n in names},
            "head": head if head is not None else used,
            "head_type": {h: HEAD_OF.get(h, ("classification",))[0] for h in used} if head is None
            else HEAD_OF.get(head, ("classification",))[0],
            **extra,
            "max_abs_diff_vs_bare": eff,
            "logits": serial(logits),
        })
        index["cases"].append({"case": cid, "file": f"{cid}.json", "setup": sstr})
    write_json(os.path.join(golden_dir, "index.json"), index)
    glow(arch, spec, model_dir, out, batch)

    for kind in ("adapters", "adapters_st"):
        m, ms = load_all(kind, "eager"), load_all(kind, "sdpa")
        for cid, sstr, setup, head, names, extra in cases:
            d = maxdiff(compute(m, ms, batch, setup, head, arch, names), results[cid])
            assert d < RELOAD_TOL, f"reload {arch} {kind} {cid}: {d}"
    return B, T, effects


def main():
    t0 = time.time()
    logging.getLogger("adapters").setLevel(logging.ERROR)
    transformers.logging.set_verbosity_error()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    for arch, spec in ARCHS.items():
        B, T, effects = make(arch, spec)
        print(f"{arch}: batch {B}x{T}, {len(effects)} cases")
        for cid, eff in effects.items():
            print(f"  {cid:28s} max|logit diff| vs bare = {eff:.4f}")
    print(f"safetensors written by make_tiny's fallback: {SAFETENSORS_WORKAROUND}")
    print(f"transformers {transformers.__version__}, adapters {adapters.__version__}, torch {torch.__version__}; "
          f"{time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
