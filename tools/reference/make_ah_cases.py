"""AdapterHub ("ah") id resolution cases, decided by the adapters library's own functions.

Writes testdata/hub/ah/:
  index/{model_name}.json   AdapterHub index files in the layout the archived Hub's
                            scripts/generate.py writes (dist/v2/index/{model}.json):
                            task -> subtask -> {config_hash: {"versions": {org: "adapters/org/file.json"}},
                            "default": "adapters/org/file.json"}; config hashes from the library's
                            get_adapter_config_hash(resolve_adapter_config(name)).
  cases.json                identifier, model_name, adapter_config, strict -> the Hugging Face repo id
                            pull_from_hub resolves it to ("AdapterHub/<file>"), or the error it raises.

The library (adapters 1.3.0) resolves an AdapterHub specifier in load_adapter (loading.py
AdapterLoader.load: config = AdapterConfig.load(config), then utils.py resolve_adapter_path, which
falls back to pull_from_hub when the Hugging Face hub has no repo of that name): find_in_index
reads index/{model_name}.json (download_cached), matches task/subtask@org and the config hash, and
"AdapterHub/" + basename(entry).split(".")[0] is the repo then fetched from the Hugging Face hub
(pull_from_hf_model_hub). Here download_cached returns the local index file and
pull_from_hf_model_hub returns the repo id instead of downloading: every other line is the library's.
Run with the reference venv: tools/reference/.venv/bin/python tools/reference/make_ah_cases.py
"""

import json
import os
import re
import sys

import adapters
import adapters.utils as au
from adapters import AdapterConfig

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "testdata", "hub", "ah")


def h(name):
    return au.get_adapter_config_hash(AdapterConfig.load(name))


PF, HB, LORA = h("pfeiffer"), h("houlsby"), h("lora")
assert h("seq_bn") == PF and h("double_seq_bn") == HB, "aliases hash alike"


def path(org, model, task, sub, cfg):
    return f"adapters/{org}/{model}_{task}_{sub}_{cfg}.json"


def bert(task, sub, org="ukp", cfg="pfeiffer"):
    return path(org, "bert-base-uncased", task, sub, cfg)


INDEXES = {
    "bert-base-uncased": {
        "sentiment": {
            "sst-2": {
                PF: {"versions": {"ukp": bert("sentiment", "sst-2")}},
                HB: {"versions": {"ukp": bert("sentiment", "sst-2", cfg="houlsby"), "other": bert("sentiment", "sst-2", "other", "houlsby")}},
                "default": bert("sentiment", "sst-2"),
            },
            "imdb": {
                PF: {"versions": {"ukp": bert("sentiment", "imdb")}},
                "default": bert("sentiment", "imdb"),
            },
        },
        "nli": {
            # two orgs for one config; the config entry names its default (a path), as
            # _get_matching_version reads it
            "multinli": {
                PF: {"versions": {"ukp": bert("nli", "multinli"), "acme": bert("nli", "multinli", "acme")}, "default": bert("nli", "multinli")},
                "default": bert("nli", "multinli"),
            },
            # an older entry without a subtask default: one config only
            "rte": {LORA: {"versions": {"ukp": bert("nli", "rte", cfg="lora")}}},
            # and two configs without a default
            "qnli": {
                PF: {"versions": {"ukp": bert("nli", "qnli")}},
                HB: {"versions": {"ukp": bert("nli", "qnli", cfg="houlsby")}},
            },
            # several orgs, no default anywhere
            "wnli": {PF: {"versions": {"ukp": bert("nli", "wnli"), "acme": bert("nli", "wnli", "acme")}}},
        },
        "qa": {
            "squad1": {PF: {"versions": {"ukp": bert("qa", "squad1")}}, "default": bert("qa", "squad1")},
            "squad2": {PF: {"versions": {"ukp": bert("qa", "squad2")}}, "default": bert("qa", "squad2")},
        },
        "lm": {"wiki.v2": {PF: {"versions": {"ukp": bert("lm", "wiki.v2")}}, "default": bert("lm", "wiki.v2")}},
    },
    # the demo adapters' base (a model name with an owner: the index file sits in a subdirectory)
    "sentence-transformers/all-MiniLM-L6-v2": {
        "sentiment": {
            "demo": {
                PF: {"versions": {"adapterwasm": "adapters/adapterwasm/minilm_sentiment_demo_pfeiffer.json"}},
                "default": "adapters/adapterwasm/minilm_sentiment_demo_pfeiffer.json",
            },
        },
        "spam": {"demo": {PF: {"versions": {"adapterwasm": "adapters/adapterwasm/minilm_spam_demo_pfeiffer.json"}}}},
    },
}

CASES = [
    # identifier, model_name, adapter_config, strict
    ("sentiment/sst-2", "bert-base-uncased", None, False),
    ("sentiment/sst-2@ukp", "bert-base-uncased", None, False),
    ("sentiment/sst-2@other", "bert-base-uncased", None, False),  # no config: the default, whatever the org
    ("sentiment/sst-2", "bert-base-uncased", "pfeiffer", False),
    ("sentiment/sst-2", "bert-base-uncased", "seq_bn", False),
    ("sentiment/sst-2@ukp", "bert-base-uncased", "houlsby", False),
    ("sentiment/sst-2@other", "bert-base-uncased", "houlsby", False),
    ("sentiment/sst-2@nobody", "bert-base-uncased", "houlsby", False),  # config matches, org does not
    ("sentiment/sst-2", "bert-base-uncased", "houlsby", False),  # two orgs, no default: error
    ("sentiment/sst-2", "bert-base-uncased", "lora", False),  # no such config: the default
    ("sentiment/sst-2", "bert-base-uncased", "lora", True),  # strict: error
    ("sentiment/sst-2", "bert-base-uncased", "pfeiffer[reduction_factor=2]", False),
    ("sentiment/sst-2", "bert-base-uncased", "pfeiffer[reduction_factor=2]", True),
    ("  sentiment/imdb  ", "bert-base-uncased", None, False),  # stripped
    ("sentiment", "bert-base-uncased", None, False),  # task only: two subtasks
    ("imdb", "bert-base-uncased", None, False),  # a subtask name alone
    ("squad2", "bert-base-uncased", None, False),
    ("qa", "bert-base-uncased", None, False),
    ("nli/multinli", "bert-base-uncased", None, False),
    ("nli/multinli@acme", "bert-base-uncased", "pfeiffer", False),
    ("nli/multinli", "bert-base-uncased", "pfeiffer", False),  # the config entry's default
    ("nli/rte", "bert-base-uncased", None, False),  # one config, no default
    ("nli/rte@ukp", "bert-base-uncased", "pfeiffer", False),
    ("nli/rte", "bert-base-uncased", "pfeiffer", True),
    ("nli/qnli", "bert-base-uncased", None, False),  # two configs, no default: error
    ("nli/qnli", "bert-base-uncased", "houlsby", False),
    ("nli/wnli", "bert-base-uncased", None, False),  # one config, two orgs, no default: error
    ("nli/wnli@acme", "bert-base-uncased", None, False),
    ("nli/wnli@nobody", "bert-base-uncased", None, False),  # None: not found
    ("lm/wiki.v2", "bert-base-uncased", None, False),  # a dot in the file name: cut there
    ("sentiment/nope", "bert-base-uncased", None, False),
    ("nope", "bert-base-uncased", None, False),
    ("@ukp/bert-base-uncased_sentiment_sst-2_pfeiffer", "bert-base-uncased", None, False),  # direct
    ("@ukp/some.file", "bert-base-uncased", None, False),
    ("sentiment/demo", "sentence-transformers/all-MiniLM-L6-v2", None, False),
    ("sentiment/demo@adapterwasm", "sentence-transformers/all-MiniLM-L6-v2", "seq_bn", True),
    ("spam/demo", "sentence-transformers/all-MiniLM-L6-v2", None, False),
    ("sentiment/sst-2", "sentence-transformers/all-MiniLM-L6-v2", None, False),
]


def main():
    os.makedirs(os.path.join(OUT, "index"), exist_ok=True)
    files = {}
    for model, index in INDEXES.items():
        p = os.path.join(OUT, "index", model + ".json")
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            json.dump(index, f, indent=4, sort_keys=True)  # as generate.py writes it
            f.write("\n")
        files[au.ADAPTER_HUB_INDEX_FILE.format(model)] = p

    # The two network calls of pull_from_hub, replaced: every other line is the library's.
    au.download_cached = lambda url, **kw: files.get(url)
    au.pull_from_hf_model_hub = lambda specifier, version=None, **kw: specifier

    out = []
    for ident, model, cfg, strict in CASES:
        case = {"identifier": ident, "model_name": model, "adapter_config": cfg, "strict": strict}
        # The direct "@org/name" form names the entry without the index.
        case["needs_index"] = not re.match(r"@(\S+)\/(\S+)", ident.strip())
        try:
            requested = AdapterConfig.load(cfg) if cfg else None  # as AdapterLoader.load does
            if requested is not None:
                case["config_hash"] = au.get_adapter_config_hash(requested)
            case["repo_id"] = au.pull_from_hub(ident, model, adapter_config=requested, strict=strict)
        except Exception as e:  # the library's own error
            case["error"] = type(e).__name__
            case["message"] = str(e)
        out.append(case)
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(
            {
                "library": f"adapters {adapters.__version__}",
                "config_hashes": {"pfeiffer": PF, "houlsby": HB, "lora": LORA},
                "cases": out,
            },
            f,
            indent=1,
        )
        f.write("\n")
    ok = sum("repo_id" in c for c in out)
    print(f"{len(out)} cases: {ok} resolve, {len(out) - ok} errors", file=sys.stderr)


if __name__ == "__main__":
    main()
