package tokenizer

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzEncode checks, for any text, that Encode and EncodePair never panic, ids are in the
// vocab, offsets lie within the text and do not go backwards, every slice has the same
// length, and truncation holds. Seeded from the golden texts.
func FuzzEncode(f *testing.F) {
	tk := loadTokenizer(f)
	g := loadGolden(f)
	for i, c := range g.Cases {
		if i%7 == 0 {
			f.Add(c.Text, "pair", int8(c.MaxLength))
		}
	}
	f.Add("\xff\xfe[MASK]\xc3", "İ\u0307ß", int8(5))
	f.Add("", "", int8(0))
	f.Fuzz(func(t *testing.T, a, b string, maxLen int8) {
		opt := Options{MaxLength: int(maxLen)}
		checkEncoding(t, tk, opt, tk.Encode(a, opt), a)
		checkEncoding(t, tk, opt, tk.EncodePair(a, b, opt), a, b)
	})
}

// FuzzEncodeBPE is FuzzEncode for the byte-level BPE of testdata/tokenizer/bpe.
func FuzzEncodeBPE(f *testing.F) { fuzzModel(f, "bpe") }

// FuzzEncodeUnigram is FuzzEncode for the Unigram of testdata/tokenizer/unigram.
func FuzzEncodeUnigram(f *testing.F) { fuzzModel(f, "unigram") }

// FuzzEncodeXLMR is FuzzEncode for the XLM-R-style tokenizer of testdata/tokenizer/xlmr
// (Precompiled, Strip, Replace, Metaspace, Unigram).
func FuzzEncodeXLMR(f *testing.F) { fuzzModel(f, "xlmr") }

// FuzzPrecompiled checks, for any charsmap and text, that parsing never panics and that an
// accepted charsmap normalizes any text without panicking, within maxReplacementBytes per
// character, with alignments inside the text.
func FuzzPrecompiled(f *testing.F) {
	real, _ := xlmrCharsmap(f)
	f.Add(real[:4+4*4096], "ｶﾞ ﬁ\u0301 \u00a0\u0301 e\u0301")
	f.Add([]byte{8, 0, 0, 0, 0x00, 0x04, 0x00, 0x00, 0x61, 0x01, 0x00, 0x00, 'x', 0}, "aaa\u200b")
	f.Add([]byte{4, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, "x")
	f.Fuzz(func(t *testing.T, b []byte, text string) {
		pc, err := newPrecompiled(b)
		if err != nil {
			return
		}
		m, _ := replaceRegexp(" {2,}")
		n := normalizer{kind: normSeq, steps: []normStep{{kind: stepPrecompiled, pc: pc}, {kind: stepStrip, right: true}, {kind: stepReplace, match: m, content: []rune("\u2581")}}}
		var ns normState
		for i := 0; i < len(text); {
			r, size := utf8.DecodeRuneInString(text[i:])
			n.push(&ns, r, align{int32(i), int32(i + size)})
			i += size
		}
		n.finish(&ns)
		if len(ns.out) != len(ns.outAlign) || len(string(ns.out)) > maxReplacementBytes*len(text)+8 {
			t.Fatalf("%d characters, %d alignments, from %d bytes", len(ns.out), len(ns.outAlign), len(text))
		}
		for _, a := range ns.outAlign {
			if a[0] < 0 || a[0] > a[1] || int(a[1]) > len(text) {
				t.Fatalf("alignment %v in %d bytes", a, len(text))
			}
		}
	})
}

func fuzzModel(f *testing.F, name string) {
	tk, g := loadModelGolden(f, name)
	for i, c := range g.Cases {
		if i%7 == 0 {
			f.Add(c.Text, "pair", int8(c.MaxLength))
		}
	}
	f.Add("\xff\xfe<mask>\xc3", " <mask>  \u00e9\u2581", int8(5))
	f.Fuzz(func(t *testing.T, a, b string, maxLen int8) {
		opt := Options{MaxLength: int(maxLen)}
		checkEncoding(t, tk, opt, tk.Encode(a, opt), a)
		checkEncoding(t, tk, opt, tk.EncodePair(a, b, opt), a, b)
	})
}

// checkEncoding checks the invariants of FuzzEncode on e, the encoding of texts.
func checkEncoding(t *testing.T, tk *Tokenizer, opt Options, e Encoding, texts ...string) {
	t.Helper()
	n := len(e.IDs)
	if len(e.TypeIDs) != n || len(e.AttentionMask) != n || len(e.Tokens) != n ||
		len(e.Offsets) != n || len(e.WordIDs) != n || len(e.SequenceIDs) != n {
		t.Fatalf("slice lengths differ: %d ids", n)
	}
	// (a MaxLength below the special tokens disables truncation, as in the reference)
	if opt.MaxLength >= tk.NumSpecialTokens(len(texts) == 2) && opt.MaxLength > 0 && n > opt.MaxLength {
		t.Fatalf("%d tokens for MaxLength %d", n, opt.MaxLength)
	}
	last := []int{0, 0}
	lastWord := []int{-1, -1}
	for i := 0; i < n; i++ {
		if e.IDs[i] < 0 || int(e.IDs[i]) >= tk.VocabSize() {
			t.Fatalf("id %d out of range", e.IDs[i])
		}
		// (an added token with lstrip or rstrip reports the spaces it took; Unigram's unknown
		// token is the text it stands for)
		if tok, want := e.Tokens[i], tk.IDToToken(e.IDs[i]); tok != want && strings.TrimSpace(tok) != want &&
			!(e.IDs[i] == tk.UnkID() && tk.Model() == "Unigram") {
			t.Fatalf("token %q for id %d", e.Tokens[i], e.IDs[i])
		}
		s := e.SequenceIDs[i]
		if s < 0 {
			if e.Offsets[i] != [2]int{} || e.WordIDs[i] != -1 {
				t.Fatalf("special token %d has offsets %v word %d", i, e.Offsets[i], e.WordIDs[i])
			}
			continue
		}
		o := e.Offsets[i]
		// Offsets trimmed of spaces (RobertaProcessing) can go back, as in the reference:
		// "<mask>Ù" gives (7,7) then (6,7).
		if (o[0] < last[s] && !tk.postTrim) || o[0] > o[1] || o[1] > len(texts[s]) {
			t.Fatalf("token %d %q: offsets %v (previous start %d, text %d bytes)", i, e.Tokens[i], o, last[s], len(texts[s]))
		}
		last[s] = o[0]
		if e.WordIDs[i] < lastWord[s] {
			t.Fatalf("word ids go backwards at %d", i)
		}
		lastWord[s] = e.WordIDs[i]
	}
}

// FuzzFromJSON checks that no tokenizer.json makes FromJSON panic, and that whatever it
// accepts can encode.
func FuzzFromJSON(f *testing.F) {
	f.Add([]byte(`{"model":{"type":"WordPiece","vocab":{"[UNK]":0,"a":1}}}`))
	f.Add([]byte(`{"added_tokens":[{"id":2,"content":"[X]","normalized":true,"lstrip":true,"rstrip":true,"single_word":true}],"normalizer":{"type":"BertNormalizer"},"pre_tokenizer":{"type":"BertPreTokenizer"},"post_processor":{"type":"BertProcessing","sep":["[X]",2],"cls":["[X]",2]},"model":{"type":"WordPiece","vocab":{"[UNK]":0,"a":1}}}`))
	// Generated seeds larger than the mutator builds: deep nesting, ids far past the tokens, a
	// long vocab entry with a large max_input_chars_per_word, left truncation.
	f.Add([]byte(`{"normalizer":` + strings.Repeat(`{"a":[`, 5000) + strings.Repeat("]}", 5000) + `,"model":{"type":"WordPiece","vocab":{"[UNK]":0}}}`))
	f.Add([]byte(`{"added_tokens":[{"id":16777215,"content":"[X]"}],"model":{"type":"WordPiece","vocab":{"[UNK]":0,"a":1}}}`))
	f.Add([]byte(`{"model":{"type":"WordPiece","max_input_chars_per_word":1000000,"vocab":{"[UNK]":0,"a":1,"##a":2,"` + strings.Repeat("a", 4096) + `":3}}}`))
	f.Add([]byte(`{"truncation":{"direction":"Left","max_length":3,"strategy":"LongestFirst","stride":0},"model":{"type":"WordPiece","vocab":{"[UNK]":0,"a":1}}}`))
	f.Add(mustRead(f, "../../testdata/tokenizer/bpe/tokenizer.json"))
	f.Add(mustRead(f, "../../testdata/tokenizer/unigram/tokenizer.json"))
	f.Add([]byte(`{"pre_tokenizer":{"type":"Metaspace","prepend_scheme":"first","split":false},"model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0],["a",-1.5],["\u2581a",-2e0]]}}`))
	f.Add([]byte(`{"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false,"use_regex":false},"post_processor":{"type":"RobertaProcessing","sep":["b",1],"cls":["a",0]},"model":{"type":"BPE","unk_token":"a","fuse_unk":true,"vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}}`))
	f.Add([]byte(`{"normalizer":{"type":"Sequence","normalizers":[{"type":"Precompiled","precompiled_charsmap":"CAAAAAAEAABhAQAAeAA="},{"type":"Strip","strip_left":false,"strip_right":true},{"type":"Replace","pattern":{"Regex":" {2,}"},"content":"\u2581"}]},"pre_tokenizer":{"type":"Metaspace"},"model":{"type":"Unigram","unk_id":0,"vocab":[["<unk>",0],["a",-1.5],["\u2581a",-2e0]]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tk, err := FromJSON(b)
		if err != nil {
			return
		}
		tk.Encode("a [X] b", Options{})
		tk.EncodeBatch([]string{"a", " [x] a"}, Options{Pad: true, MaxLength: 4})
		tk.EncodePair("a", "[X]", Options{MaxLength: 3})
	})
}
