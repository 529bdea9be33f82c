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

    tools/reference/.venv/bin/python tools/reference/check_trained.py --site-zip test-artifacts/trained_adapter.zip

instead takes a zip the demo page's "Download zip" wrote (site/test/train.test.js keeps the one it
downloads in test-artifacts/), copies it to testdata/train/site/adapter.zip, loads the adapter
directory inside it with load_adapter into all-MiniLM-L6-v2 (f32: $ADAPTERWASM_MINILM_DIR, else
$ADAPTERWASM_CACHE/models/all-MiniLM-L6-v2, else .cache/models/...) and records the library's
logits on the golden sentences in testdata/train/site/check.json, which TestSiteTrainedInLibrary
compares with our runtime's (<= 1e-4). With dist/adapterwasm built it also runs our CLI on the
same directory and fails if any logit differs by more than 1e-4.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

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
TRAINED_ARCHS = os.path.join(ROOT, "testdata", "train", "trained_archs")


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


def archs():
    """The same for testdata/train/trained_archs/<arch>/* (TestTrainedArchsInLibrary writes them
    with -update-trained): adapters our trainer trained on the tiny RoBERTa, XLM-R and DistilBERT
    bases of testdata/archs, each loaded with load_adapter into AutoAdapterModel of its base
    (RobertaAdapterModel, XLMRobertaAdapterModel, DistilBertAdapterModel), every saved weight
    used; the library's logits on a fixed batch go to testdata/train/trained_archs/check.json."""
    import logging

    import make_archs  # the tokenizers testdata/archs was made with
    from adapters import AutoAdapterModel

    torch.set_num_threads(1)
    out = {}
    for arch in sorted(os.listdir(TRAINED_ARCHS)):
        adir = os.path.join(TRAINED_ARCHS, arch)
        if not os.path.isdir(adir):
            continue
        base = os.path.join(ROOT, "testdata", "archs", arch, "model")
        tok = make_archs.ARCHS[arch]["tok"](os.path.join(base, "tokenizer.json"))
        enc = tok(SENTENCES[:6], padding=True, truncation=True, max_length=16, return_tensors="pt")
        rec = {"input_ids": enc["input_ids"].tolist(), "attention_mask": enc["attention_mask"].tolist(), "cases": {}}
        for case in sorted(os.listdir(adir)):
            d = os.path.join(adir, case)
            st = os.path.exists(os.path.join(d, "adapter.safetensors"))
            model = AutoAdapterModel.from_pretrained(base, attn_implementation="eager").eval()
            # a saved weight the model has no parameter for is only logged by the library: fail on it
            warnings = []

            class Catch(logging.Handler):
                def emit(self, r):
                    warnings.append(r.getMessage())

            h = Catch(level=logging.WARNING)
            lg = logging.getLogger("adapters")
            lg.addHandler(h)
            try:
                name = model.load_adapter(d, use_safetensors=st)
            finally:
                lg.removeHandler(h)
            bad = [w for w in warnings if "unexpected" in w.lower() or "missing" in w.lower() or "not match" in w.lower()]
            assert not bad, f"{arch}/{case}: {bad}"
            model.set_active_adapters(name)
            assert name in model.heads, f"{arch}/{case}: no head loaded"
            with open(os.path.join(d, "adapter_config.json")) as f:
                cfg = json.load(f)
            assert cfg["model_class"] == model.__class__.__name__, (cfg["model_class"], model.__class__.__name__)
            # every saved adapter tensor is one of the model's parameters, and equal to it
            params = dict(model.named_parameters())
            if st:
                from safetensors.torch import load_file

                saved = load_file(os.path.join(d, "adapter.safetensors"))
            else:
                saved = torch.load(os.path.join(d, "pytorch_adapter.bin"), weights_only=True)
            for k, v in saved.items():
                assert k in params, f"{arch}/{case}: {k} is no parameter of {model.__class__.__name__}"
                assert torch.equal(params[k].detach(), v), f"{arch}/{case}: {k} not loaded"
            with torch.no_grad():
                logits = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits
            rec["cases"][case] = {"format": "safetensors" if st else "bin", "version": cfg["version"],
                                  "model_class": cfg["model_class"], "weights": len(saved), "logits": logits.tolist()}
            print(arch, case, model.__class__.__name__, "safetensors" if st else "bin", len(saved), "weights",
                  tuple(logits.shape))
        out[arch] = rec
    with open(os.path.join(TRAINED_ARCHS, "check.json"), "w") as f:
        json.dump(out, f, sort_keys=True, separators=(",", ":"))
        f.write("\n")


def minilm_dir():
    d = os.environ.get("ADAPTERWASM_MINILM_DIR")
    if d:
        return d
    cache = os.environ.get("ADAPTERWASM_CACHE", os.path.join(ROOT, ".cache"))
    return os.path.join(cache, "models", "all-MiniLM-L6-v2")


def site_zip(path):
    from adapters import AutoAdapterModel

    torch.set_num_threads(1)
    out_dir = os.path.join(ROOT, "testdata", "train", "site")
    os.makedirs(out_dir, exist_ok=True)
    dst = os.path.join(out_dir, "adapter.zip")
    if os.path.abspath(path) != os.path.abspath(dst):
        shutil.copyfile(path, dst)
    with open(dst, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    base = minilm_dir()
    tok = AutoTokenizer.from_pretrained(base)
    sentences = SENTENCES[:6]
    enc = tok(sentences, padding=True, truncation=True, max_length=128, return_tensors="pt")
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(dst) as z:
            assert z.testzip() is None, "a CRC does not match"
            names = z.namelist()
            z.extractall(tmp)
        dirs = sorted({n.split("/")[0] for n in names})
        assert len(dirs) == 1 and all("/" in n for n in names), f"want one directory in the zip, got {names}"
        d = os.path.join(tmp, dirs[0])
        st = os.path.exists(os.path.join(d, "adapter.safetensors"))
        model = AutoAdapterModel.from_pretrained(base, attn_implementation="eager").eval()
        name = model.load_adapter(d, use_safetensors=st)
        model.set_active_adapters(name)
        assert name in model.heads, "no head loaded"
        with open(os.path.join(d, "adapter_config.json")) as f:
            version = json.load(f)["version"]
        with torch.no_grad():
            logits = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits
        rec = {
            "zip": "adapter.zip",
            "zip_sha256": sha,
            "files": sorted(names),
            "name": name,
            "version": version,
            "base": "sentence-transformers/all-MiniLM-L6-v2 (f32)",
            "sentences": sentences,
            "max_length": 128,
            "input_ids": enc["input_ids"].tolist(),
            "attention_mask": enc["attention_mask"].tolist(),
            "logits": logits.tolist(),
        }
        print(name, version, "safetensors" if st else "bin", tuple(logits.shape))
        cli = os.path.join(ROOT, "dist", "adapterwasm")
        if os.path.exists(cli):
            inp = "".join(json.dumps({"text": t}) + "\n" for t in sentences)
            res = subprocess.run([cli, "classify", "--model", base, "--jsonl", "--max-length", "128", "--adapter", d],
                                 input=inp.encode(), capture_output=True, check=True)
            ours = [json.loads(l)["logits"] for l in res.stdout.decode().strip().split("\n")]
            diff = max(abs(a - b) for ra, rb in zip(ours, logits.tolist()) for a, b in zip(ra, rb))
            print(f"our CLI vs the library: max |dlogit| {diff:.3g}")
            assert diff <= 1e-4, f"our CLI's logits differ from the library's by {diff}"
    with open(os.path.join(out_dir, "check.json"), "w") as f:
        json.dump(rec, f, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--site-zip":
        site_zip(sys.argv[2])
    elif len(sys.argv) == 1:
        main()
        archs()
    else:
        sys.exit("usage: check_trained.py [--site-zip ZIP]")
