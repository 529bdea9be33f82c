package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestFromJSONErrors(t *testing.T) {
	const wp = `"model":{"type":"WordPiece","unk_token":"[UNK]","continuing_subword_prefix":"##","max_input_chars_per_word":100,"vocab":{"[UNK]":0,"a":1}}`
	for _, c := range []struct {
		name, json  string
		unsupported bool
		mention     string
	}{
		{"not json", `{`, false, ""},
		{"empty", `{}`, false, "no model"},
		{"bpe dropout", `{"model":{"type":"BPE","dropout":0.1,"vocab":{"a":0},"merges":[]}}`, true, "dropout"},
		{"untagged bpe byte_fallback", `{"model":{"vocab":{"a":0},"merges":[],"byte_fallback":true}}`, true, "byte_fallback"},
		{"bpe no merges", `{"model":{"type":"BPE","vocab":{"a":0}}}`, false, "merges"},
		{"bpe merge not in vocab", `{"model":{"type":"BPE","vocab":{"a":0,"b":1},"merges":["a b"]}}`, false, "merges[0]"},
		{"bpe merge of three", `{"model":{"type":"BPE","vocab":{"a":0,"b":1},"merges":["a b c"]}}`, false, "merges[0]"},
		{"bpe merge not a pair", `{"model":{"type":"BPE","vocab":{"a":0,"b":1},"merges":[["a"]]}}`, false, "merges[0]"},
		{"bpe unk not in vocab", `{"model":{"type":"BPE","unk_token":"<unk>","vocab":{"a":0},"merges":[]}}`, false, "unk_token"},
		{"unigram without unk_id", `{"model":{"type":"Unigram","vocab":[["a",0.0]]}}`, true, "unk_id"},
		{"unigram unk_id past vocab", `{"model":{"type":"Unigram","unk_id":1,"vocab":[["a",0.0]]}}`, false, "unk_id"},
		{"unigram byte_fallback", `{"model":{"type":"Unigram","unk_id":0,"byte_fallback":true,"vocab":[["a",0.0]]}}`, true, "byte_fallback"},
		{"unigram bad score", `{"model":{"type":"Unigram","unk_id":0,"vocab":[["a","x"]]}}`, false, "vocab[0]"},
		{"unigram empty piece", `{"model":{"type":"Unigram","unk_id":0,"vocab":[["",0.0]]}}`, false, "empty piece"},
		{"unigram empty", `{"model":{"type":"Unigram","unk_id":0,"vocab":[]}}`, false, "empty vocab"},
		{"unigram long piece", `{"model":{"type":"Unigram","unk_id":0,"vocab":[["` + strings.Repeat("a", 257) + `",0.0]]}}`, true, "at most 256"},
		{"unigram score out of range", `{"model":{"type":"Unigram","unk_id":0,"vocab":[["a",1e400]]}}`, false, "vocab[0]"},
		{"untagged unigram", `{"model":{"vocab":[["a",0.0]]}}`, true, "unk_id"},
		{"charsmap of 1 byte", `{"normalizer":{"type":"Sequence","normalizers":[{"type":"Precompiled","precompiled_charsmap":"AA=="},{"type":"Strip","strip_left":false,"strip_right":true}]},` + wp + `}`, false, "no trie size"},
		{"empty charsmap", `{"normalizer":{"type":"Precompiled","precompiled_charsmap":""},` + wp + `}`, false, "no trie size"},
		{"no charsmap", `{"normalizer":{"type":"Precompiled"},` + wp + `}`, false, "no precompiled_charsmap"},
		{"charsmap not base64", `{"normalizer":{"type":"Precompiled","precompiled_charsmap":"!!!!"},` + wp + `}`, false, "not base64"},
		{"trie past the charsmap", `{"normalizer":{"type":"Precompiled","precompiled_charsmap":"/////wAAAAA="},` + wp + `}`, false, "trie of 4294967295 bytes"},
		{"pool not utf-8", `{"normalizer":{"type":"Precompiled","precompiled_charsmap":"BAAAAAAAAAD/"},` + wp + `}`, false, "not UTF-8"},
		{"long normalized string", `{"normalizer":{"type":"Precompiled","precompiled_charsmap":"AAAAAGFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE="},` + wp + `}`, true, "at most 64"},
		{"huge charsmap", `{"normalizer":{"type":"Precompiled","precompiled_charsmap":"` + strings.Repeat("A", 6<<20) + `"},` + wp + `}`, true, "at most 4194304 bytes"},
		{"strip without fields", `{"normalizer":{"type":"Strip"},` + wp + `}`, false, "strip_left"},
		{"replace without content", `{"normalizer":{"type":"Replace","pattern":{"String":"a"}},` + wp + `}`, false, "content"},
		{"replace two patterns", `{"normalizer":{"type":"Replace","pattern":{"String":"a","Regex":"b"},"content":""},` + wp + `}`, false, "pattern"},
		{"replace empty string", `{"normalizer":{"type":"Replace","pattern":{"String":""},"content":"x"},` + wp + `}`, true, "empty"},
		{"replace unicode class", `{"normalizer":{"type":"Replace","pattern":{"Regex":"\\s+"},"content":" "},` + wp + `}`, true, "(escape"},
		{"replace dot", `{"normalizer":{"type":"Replace","pattern":{"Regex":"a.b"},"content":" "},` + wp + `}`, true, "operators"},
		{"replace flag", `{"normalizer":{"type":"Replace","pattern":{"Regex":"(?i)a"},"content":" "},` + wp + `}`, true, "flag"},
		{"replace matches empty", `{"normalizer":{"type":"Replace","pattern":{"Regex":"a*"},"content":" "},` + wp + `}`, true, "empty string"},
		{"replace bad regex", `{"normalizer":{"type":"Replace","pattern":{"Regex":"(a"},"content":" "},` + wp + `}`, true, "not a regular expression"},
		{"nfkc in a sequence", `{"normalizer":{"type":"Sequence","normalizers":[{"type":"Strip","strip_left":true,"strip_right":true},{"type":"NFKC"}]},` + wp + `}`, true, "NFKC in a Sequence"},
		{"sequence without normalizers", `{"normalizer":{"type":"Sequence"},` + wp + `}`, false, "no normalizers"},
		{"long sequence", `{"normalizer":{"type":"Sequence","normalizers":[` + strings.Repeat(`{"type":"Strip","strip_left":true,"strip_right":true},`, 16) + `{"type":"Strip","strip_left":true,"strip_right":true}]},` + wp + `}`, true, "more than 16"},
		{"metaspace scheme", `{"pre_tokenizer":{"type":"Metaspace","prepend_scheme":"sometimes"},` + wp + `}`, false, "prepend_scheme"},
		{"metaspace replacement", `{"pre_tokenizer":{"type":"Metaspace","replacement":"ab"},` + wp + `}`, false, "replacement"},
		{"no unk", `{"model":{"type":"WordPiece","vocab":{"a":0}}}`, false, "unk_token"},
		{"negative id", `{"model":{"type":"WordPiece","vocab":{"[UNK]":-1}}}`, false, "out of range"},
		{"huge id", `{"model":{"type":"WordPiece","vocab":{"[UNK]":99999999999}}}`, false, "out of range"},
		{"vocab list", `{"model":{"type":"WordPiece","vocab":[1,2]}}`, false, "vocab"},
		{"nfkc", `{"normalizer":{"type":"NFKC"},` + wp + `}`, true, "NFKC"},
		{"roberta without sep", `{"post_processor":{"type":"RobertaProcessing"},` + wp + `}`, false, "sep"},
		{"long type clipped", `{"pre_tokenizer":{"type":"` + strings.Repeat("x", 5000) + `"},` + wp + `}`, true, "xxx…"},
		{"bad template", `{"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"[X]","type_id":0}}],"pair":[],"special_tokens":{}},` + wp + `}`, false, "[X]"},
		{"only_second", `{"truncation":{"max_length":8,"strategy":"OnlySecond","stride":0},` + wp + `}`, true, "OnlySecond"},
		{"empty added", `{"added_tokens":[{"id":5,"content":""}],` + wp + `}`, false, "empty"},
		{"template id past vocab", `{"post_processor":{"type":"BertProcessing","sep":["[SEP]",7],"cls":["[CLS]",8]},` + wp + `}`, false, "vocab size"},
		{"pad id past vocab", `{"padding":{"strategy":"BatchLongest","pad_id":9,"pad_token":"[PAD]"},` + wp + `}`, false, "pad_id"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := FromJSON([]byte(c.json))
			if err == nil {
				t.Fatal("no error")
			}
			var fe FormatError
			var ue UnsupportedError
			if c.unsupported && !errors.As(err, &ue) {
				t.Fatalf("got %T %v, want UnsupportedError", err, err)
			}
			if !c.unsupported && !errors.As(err, &fe) {
				t.Fatalf("got %T %v, want FormatError", err, err)
			}
			if !strings.Contains(err.Error(), c.mention) {
				t.Fatalf("error %q does not mention %q", err, c.mention)
			}
		})
	}
}

func TestMinimalFile(t *testing.T) {
	// No normalizer, pre-tokenizer or post-processor: the whole text is one word.
	tk, err := FromJSON([]byte(`{"model":{"type":"WordPiece","vocab":{"[UNK]":0,"ab":1,"##c":2}}}`))
	if err != nil {
		t.Fatal(err)
	}
	e := tk.Encode("abc", Options{})
	if len(e.IDs) != 2 || e.IDs[0] != 1 || e.IDs[1] != 2 || e.Offsets[1] != [2]int{2, 3} {
		t.Fatalf("got %v %v", e.IDs, e.Offsets)
	}
	if e := tk.Encode("ab c", Options{}); len(e.IDs) != 1 || e.IDs[0] != 0 {
		t.Fatalf("space inside the only word: got %v, want [UNK]", e.IDs)
	}
	p := tk.EncodePair("ab", "abc", Options{})
	if got := p.TypeIDs; len(got) != 3 || got[0] != 0 || got[1] != 1 || got[2] != 1 {
		t.Fatalf("pair type ids %v", got)
	}
}

func TestLongPrefix(t *testing.T) {
	// A continuing_subword_prefix longer than any vocab entry: no continuation can match.
	tk, err := FromJSON([]byte(`{"model":{"type":"WordPiece","continuing_subword_prefix":"#####","vocab":{"[UNK]":0,"ab":1,"c":2}},"pre_tokenizer":{"type":"BertPreTokenizer"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if e := tk.Encode("ab abc c", Options{}); len(e.IDs) != 3 || e.IDs[0] != 1 || e.IDs[1] != 0 || e.IDs[2] != 2 {
		t.Fatalf("got %v %q", e.IDs, e.Tokens)
	}
}

func TestAccessors(t *testing.T) {
	tk := loadTokenizer(t)
	if tk.VocabSize() != 30522 {
		t.Errorf("VocabSize = %d", tk.VocabSize())
	}
	if id, ok := tk.TokenToID("[MASK]"); !ok || id != 103 {
		t.Errorf("TokenToID([MASK]) = %d %v", id, ok)
	}
	if id, ok := tk.TokenToID("hello"); !ok || tk.IDToToken(id) != "hello" {
		t.Errorf("hello round trip: %d %v", id, ok)
	}
	if _, ok := tk.TokenToID("no such token"); ok {
		t.Error("unknown token found")
	}
	if tk.IDToToken(-1) != "" || tk.IDToToken(1<<30) != "" {
		t.Error("IDToToken out of range")
	}
	if tk.PadID() != 0 || tk.UnkID() != 100 || tk.MaxLength() != 128 {
		t.Errorf("PadID %d UnkID %d MaxLength %d", tk.PadID(), tk.UnkID(), tk.MaxLength())
	}
	if tk.NumSpecialTokens(false) != 2 || tk.NumSpecialTokens(true) != 3 {
		t.Error("NumSpecialTokens")
	}
}

func TestInvalidUTF8(t *testing.T) {
	tk := loadTokenizer(t)
	// Invalid bytes decode as U+FFFD, which clean_text drops without splitting the word,
	// exactly as the reference does with a literal U+FFFD.
	got := tk.Encode("hel\xffl\xc3o w\xed\xa0\x80orld \xf0\x9f", Options{})
	want := tk.Encode("hel\ufffdl\ufffdo w\ufffd\ufffd\ufffdorld \ufffd\ufffd", Options{})
	if strings.Join(got.Tokens, " ") != strings.Join(want.Tokens, " ") {
		t.Fatalf("got %q, want %q", got.Tokens, want.Tokens)
	}
	if strings.Join(got.Tokens, " ") != "[CLS] hello world [SEP]" {
		t.Fatalf("got %q", got.Tokens)
	}
	if got.Offsets[1] != [2]int{0, 7} || got.Offsets[2] != [2]int{8, 16} {
		t.Fatalf("offsets %v", got.Offsets)
	}
}

func TestMaxLengthOptions(t *testing.T) {
	tk := loadTokenizer(t)
	long := strings.Repeat("word ", 300)
	if n := len(tk.Encode(long, Options{}).IDs); n != 128 {
		t.Errorf("default: %d tokens, want the file's 128", n)
	}
	if n := len(tk.Encode(long, Options{MaxLength: -1}).IDs); n != 302 {
		t.Errorf("no truncation: %d tokens, want 302", n)
	}
	if n := len(tk.Encode(long, Options{MaxLength: 10}).IDs); n != 10 {
		t.Errorf("MaxLength 10: %d tokens", n)
	}
	// Below the number of special tokens the reference does not truncate (usize wraps).
	if n := len(tk.Encode(long, Options{MaxLength: 1}).IDs); n != 302 {
		t.Errorf("MaxLength 1: %d tokens, want 302", n)
	}
	if n := len(tk.EncodePair(long, long, Options{MaxLength: 2}).IDs); n != 603 {
		t.Errorf("pair MaxLength 2: %d tokens, want 603", n)
	}
	e := tk.EncodePair(long, "short one", Options{MaxLength: 16})
	if len(e.IDs) != 16 || e.Tokens[13] != "short" {
		t.Errorf("pair: %q", e.Tokens)
	}
}

// TestCountUpTo: with Options.CountUpTo a truncated text reports how many tokens it had, up to
// the cap; the stored tokens stay cut at MaxLength, and padding keeps the count.
func TestCountUpTo(t *testing.T) {
	tk := loadTokenizer(t)
	long := strings.Repeat("word ", 300)
	e := tk.Encode(long, Options{MaxLength: 10, CountUpTo: 1000})
	if len(e.IDs) != 10 || e.SourceTokens != 300 {
		t.Errorf("CountUpTo 1000: %d tokens stored, %d counted; want 10 and 300", len(e.IDs), e.SourceTokens)
	}
	if e := tk.Encode(long, Options{MaxLength: 10, CountUpTo: 100}); len(e.IDs) != 10 || e.SourceTokens != 100 {
		t.Errorf("CountUpTo 100: %d tokens stored, %d counted; want 10 and the cap, 100", len(e.IDs), e.SourceTokens)
	}
	if e := tk.Encode(long, Options{MaxLength: 10, CountUpTo: 5}); len(e.IDs) != 10 || e.SourceTokens != 8 {
		t.Errorf("CountUpTo below MaxLength: %d tokens stored, %d counted; want 10 and the 8 read", len(e.IDs), e.SourceTokens)
	}
	if e := tk.Encode(long, Options{MaxLength: 10}); e.SourceTokens != 0 {
		t.Errorf("without CountUpTo: SourceTokens %d, want 0 (not counted)", e.SourceTokens)
	}
	encs := tk.EncodeBatch([]string{"short", long}, Options{MaxLength: 10, Pad: true, CountUpTo: 1000})
	if encs[0].SourceTokens != 1 || len(encs[0].IDs) != 10 || encs[1].SourceTokens != 300 {
		t.Errorf("padded batch: %d (%d ids), %d; want 1 (10 ids), 300", encs[0].SourceTokens, len(encs[0].IDs), encs[1].SourceTokens)
	}
}

func TestPadLeft(t *testing.T) {
	b := []byte(`{"padding":{"strategy":"BatchLongest","direction":"Left","pad_id":7,"pad_type_id":1,"pad_token":"[P]"},
	"model":{"type":"WordPiece","vocab":{"[UNK]":0,"a":1,"[P]":7}},"pre_tokenizer":{"type":"BertPreTokenizer"}}`)
	tk, err := FromJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	encs := tk.EncodeBatch([]string{"a", "a a a"}, Options{Pad: true})
	e := encs[0]
	if len(e.IDs) != 3 || e.IDs[0] != 7 || e.IDs[2] != 1 || e.TypeIDs[0] != 1 || e.AttentionMask[1] != 0 ||
		e.AttentionMask[2] != 1 || e.Tokens[0] != "[P]" || e.WordIDs[0] != -1 || e.Offsets[2] != [2]int{0, 1} {
		t.Fatalf("left padding: %+v", e)
	}
}

// TestHugeText checks that long inputs take linear time: 10 MB of text, of one word, of
// punctuation, of CJK, of added-token look-alikes.
func TestHugeText(t *testing.T) {
	tk := loadTokenizer(t)
	const size = 10 << 20
	texts := map[string]string{
		"words":  strings.Repeat("The quick brown fox jumps over the lazy dog. ", size/45),
		"word":   strings.Repeat("a", size),
		"punct":  strings.Repeat("!?", size/2),
		"cjk":    strings.Repeat("東京", size/6),
		"added":  strings.Repeat("[MAS[CLS", size/8),
		"accent": strings.Repeat("Ééé ", size/6),
	}
	if testing.Short() || runtime.GOOS == "js" {
		for k, v := range texts {
			texts[k] = v[:size/16]
		}
	}
	for name, text := range texts {
		start := time.Now()
		e := tk.Encode(text, Options{})
		if len(e.IDs) > 128 {
			t.Errorf("%s: %d tokens with truncation", name, len(e.IDs))
		}
		p := tk.EncodePair(text, text, Options{MaxLength: 64})
		if len(p.IDs) != 64 && name != "word" {
			t.Errorf("%s: pair has %d tokens", name, len(p.IDs))
		}
		d := time.Since(start)
		t.Logf("%s: %d bytes, single + pair in %v", name, len(text), d)
		if d > 60*time.Second {
			t.Errorf("%s: %v: too slow", name, d)
		}
	}
	// A single word over max_input_chars_per_word is one [UNK] spanning it.
	e := tk.Encode(texts["word"], Options{MaxLength: -1})
	if len(e.IDs) != 3 || e.IDs[1] != tk.UnkID() || e.Offsets[1] != [2]int{0, len(texts["word"])} {
		t.Errorf("long word: %v %v", e.IDs, e.Offsets)
	}
}

func TestEncodeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	tk := loadTokenizer(t)
	text := "I love this movie, it was absolutely wonderful! Café déjà vu."
	tk.Encode(text, Options{})
	allocs := testing.AllocsPerRun(100, func() { tk.Encode(text, Options{}) })
	// The result: one []int32 for ids, type ids and mask, then tokens, offsets, word ids,
	// sequence ids. Nothing per token.
	if allocs > 6 {
		t.Errorf("Encode: %.1f allocs per call, want <= 6", allocs)
	}
}

func TestParseVocab(t *testing.T) {
	for _, c := range []string{
		`{}`, ` { } `, `{"a":1}`, `{"a" : 1 , "b":2}`, `{"\u00e9\"\\\/x":3,"é":4}`, `{"a":-1}`, `{"a":1,"a":2}`, `{"a":16777216}`, `{"a":16777215}`,
		`{"a":1.5}`, `{"a":1e3}`, `{"a":"1"}`, `{"a":1,}`, `{"a":1`, `[1]`, `{"a":1} x`, "{\"a\n\":1}", `{"a":99999999999999999999}`,
	} {
		want64 := map[string]int64(nil)
		wantErr := json.Unmarshal([]byte(c), &want64)
		var want map[string]int32
		for k, v := range want64 {
			if want == nil {
				want = map[string]int32{}
			}
			if v < 0 || v >= maxVocabID {
				wantErr = errors.New("out of range")
			}
			want[k] = int32(v)
		}
		if want64 != nil && want == nil {
			want = map[string]int32{}
		}
		got, err := parseVocab([]byte(c))
		if (err != nil) != (wantErr != nil) {
			t.Errorf("%s: error %v, encoding/json %v", c, err, wantErr)
			continue
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, want %v", c, got, want)
		}
	}
}

func TestCutVocab(t *testing.T) {
	b := mustRead(t, filepath.Join("..", "..", "testdata", "tiny", "model", "tokenizer.json"))
	rest, vocab, ok := cutVocab(b)
	if !ok {
		t.Fatal("cutVocab failed on the real tokenizer.json")
	}
	var f struct {
		Model struct {
			Vocab json.RawMessage `json:"vocab"`
			Type  string          `json:"type"`
		} `json:"model"`
	}
	if err := json.Unmarshal(rest, &f); err != nil || string(f.Model.Vocab) != "null" || f.Model.Type != "WordPiece" {
		t.Fatalf("rest: %v %s %q", err, f.Model.Vocab, f.Model.Type)
	}
	var full struct {
		Model struct {
			Vocab map[string]int32 `json:"vocab"`
		} `json:"model"`
	}
	if err := json.Unmarshal(b, &full); err != nil {
		t.Fatal(err)
	}
	got, err := parseVocab(vocab)
	if err != nil || !reflect.DeepEqual(got, full.Model.Vocab) {
		t.Fatalf("vocab differs (err %v)", err)
	}
	for _, c := range []string{`{"model":{"vocab":[1]}}`, `{"model":1}`, `{"a":"}","model":{"x":"{","vocab":{"\"":1}}}`, `{"model":{"vocab":{"a":1}`} {
		rest, vocab, ok := cutVocab([]byte(c))
		t.Logf("%s → %v %s | %s", c, ok, rest, vocab)
	}
}

// TestConcurrent encodes from several goroutines at once (run with -race).
func TestConcurrent(t *testing.T) {
	tk := loadTokenizer(t)
	g := loadGolden(t)
	done := make(chan bool)
	for w := 0; w < 4; w++ {
		go func(w int) {
			defer func() { done <- true }()
			for i := w; i < len(g.Cases); i += 4 {
				c := g.Cases[i]
				var got Encoding
				if c.Pair != nil {
					got = tk.EncodePair(c.Text, *c.Pair, Options{MaxLength: c.MaxLength})
				} else {
					got = tk.Encode(c.Text, Options{MaxLength: c.MaxLength})
				}
				if d := diffEncoding(got, c.goldenEncoding); d != "" {
					t.Errorf("case %d: %s", i, d)
					return
				}
			}
		}(w)
	}
	for w := 0; w < 4; w++ {
		<-done
	}
}

func TestEncodeAllocsModels(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	for _, name := range []string{"bpe", "unigram", "xlmr"} {
		tk, _ := loadModelGolden(t, name)
		text := "I love this movie, it's absolutely wonderful!  Café déjà vu <mask> 東京 und Straße."
		tk.Encode(text, Options{})
		allocs := testing.AllocsPerRun(100, func() { tk.Encode(text, Options{}) })
		if allocs > 6 {
			t.Errorf("%s Encode: %.1f allocs per call, want <= 6", name, allocs)
		}
	}
}

// TestHugeWordModels checks that a word longer than MaxWordBytes is tokenized in pieces:
// the model's scratch stays bounded, every byte is covered, offsets stay in the text.
func TestHugeWordModels(t *testing.T) {
	for _, name := range []string{"bpe", "unigram"} {
		tk, _ := loadModelGolden(t, name)
		text := strings.Repeat("ab1é", MaxWordBytes/2)
		start := time.Now()
		e := tk.Encode(text, Options{MaxLength: -1})
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("%s: %d tokens in %v", name, len(e.IDs), d)
		}
		if len(e.IDs) < 3 || e.Offsets[len(e.IDs)-2][1] != len(text) {
			t.Errorf("%s: %d tokens, last offsets %v for %d bytes", name, len(e.IDs), e.Offsets[len(e.IDs)-2], len(text))
		}
		s := tk.getState()
		if cap(s.lattice) > MaxWordBytes+1 || cap(s.syms) > 4*MaxWordBytes {
			t.Errorf("%s: lattice %d, symbols %d", name, cap(s.lattice), cap(s.syms))
		}
	}
}

// TestUnigramLongWord checks that Viterbi is linear in the word (bounded pieces).
func TestUnigramLongWord(t *testing.T) {
	tk, _ := loadModelGolden(t, "unigram")
	start := time.Now()
	e := tk.Encode(strings.Repeat("ab1 cd", 1<<17), Options{MaxLength: -1})
	if d := time.Since(start); d > 20*time.Second || len(e.IDs) < 3 {
		t.Errorf("%d tokens in %v", len(e.IDs), d)
	}
}

// TestBPELongWord checks that a word of a million characters merges in O(n log n): a
// quadratic merge loop would take minutes.
func TestBPELongWord(t *testing.T) {
	tk, _ := loadModelGolden(t, "bpe")
	start := time.Now()
	e := tk.Encode(strings.Repeat("ab1", 1<<18), Options{MaxLength: -1})
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("%d tokens in %v", len(e.IDs), d)
	}
	if len(e.IDs) < 3 {
		t.Fatalf("%d tokens", len(e.IDs))
	}
}

// TestParseMerges checks the fast merges scanner against encoding/json on both layouts,
// escapes, whitespace and malformed lists.
func TestParseMerges(t *testing.T) {
	for _, c := range []string{
		`[]`, ` [ ] `, `["a b"]`, `["a b","c d"]`, `[["a","b"],["c","d"]]`, ` [ [ "a" , "b" ] , "c d" ] `,
		`["\u00e9 \"x"]`, `[["\n","b"]]`, `["a  b"]`, `["ab"]`, `[["a"]]`, `[["a","b","c"]]`, `["a b",]`,
		`["a b"] x`, `["a b"`, `[1]`, `{}`, "[\"a\tb\"]", `[["a",1]]`,
	} {
		got, err := parseMerges([]byte(c))
		var list []json.RawMessage
		jerr := json.Unmarshal([]byte(c), &list)
		var want [][2]string
		for _, r := range list {
			var one string
			var p [2]string
			if json.Unmarshal(r, &one) == nil {
				l, rt, ok := strings.Cut(one, " ")
				if !ok || strings.Contains(rt, " ") {
					jerr = errors.New("not two")
					break
				}
				p = [2]string{l, rt}
			} else if e := json.Unmarshal(r, &p); e != nil {
				jerr = e
				break
			}
			want = append(want, p)
		}
		if (err != nil) != (jerr != nil) {
			t.Errorf("%s: error %v, encoding/json %v", c, err, jerr)
			continue
		}
		if err == nil && fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: got %q, want %q", c, got, want)
		}
	}
}

// TestModelErrorsSayJSON checks that a field of the wrong kind in the BPE, Unigram, ByteLevel
// and Metaspace parts is described in JSON's terms, never with Go type names.
func TestModelErrorsSayJSON(t *testing.T) {
	for _, c := range []string{
		`{"model":{"type":"BPE","vocab":{"a":0},"merges":{}}}`,
		`{"model":{"type":"BPE","vocab":{"a":0},"merges":[],"fuse_unk":"yes"}}`,
		`{"model":{"type":"Unigram","unk_id":"0","vocab":[["a",0]]}}`,
		`{"model":{"type":"Unigram","unk_id":0,"vocab":{"a":0}}}`,
		`{"pre_tokenizer":{"type":"ByteLevel","use_regex":1},"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}`,
		`{"pre_tokenizer":{"type":"Metaspace","split":"yes"},"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}`,
		`{"post_processor":{"type":"ByteLevel","trim_offsets":[]},"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}`,
	} {
		_, err := FromJSON([]byte(c))
		var fe FormatError
		if !errors.As(err, &fe) {
			t.Errorf("%s: got %v, want a FormatError", c, err)
			continue
		}
		if strings.Contains(err.Error(), "Go ") || strings.Contains(err.Error(), "RawMessage") {
			t.Errorf("%s: %v", c, err)
		}
	}
}
