package tokenizer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// The golden files come from tools/reference/make_tokenizer_golden.py (tokenizers 0.22.1).

func loadTokenizer(tb testing.TB) *Tokenizer {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "tiny", "model", "tokenizer.json"))
	if err != nil {
		tb.Fatal(err)
	}
	t, err := FromJSON(b)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

type goldenEncoding struct {
	IDs           []int32  `json:"ids"`
	TypeIDs       []int32  `json:"type_ids"`
	Offsets       []int    `json:"offsets"`
	WordIDs       []int    `json:"word_ids"`
	AttentionMask []int32  `json:"attention_mask"`
	Tokens        []string `json:"tokens"`
}

type goldenCase struct {
	Text      string  `json:"text"`
	Pair      *string `json:"pair"`
	MaxLength int     `json:"max_length"`
	goldenEncoding
}

type goldenFile struct {
	TokenizersVersion string       `json:"tokenizers_version"`
	Cases             []goldenCase `json:"cases"`
	Variants          []struct {
		Normalizer json.RawMessage `json:"normalizer"`
		Cases      []goldenCase    `json:"cases"`
	} `json:"normalizer_variants"`
	Left struct {
		Truncation json.RawMessage `json:"truncation"`
		Padding    json.RawMessage `json:"padding"`
		Cases      []goldenCase    `json:"cases"`
		Batch      struct {
			Texts     []string         `json:"texts"`
			Encodings []goldenEncoding `json:"encodings"`
		} `json:"batch"`
	} `json:"left"`
	Added struct {
		AddedTokens json.RawMessage `json:"added_tokens"`
		Cases       []goldenCase    `json:"cases"`
	} `json:"added"`
	Batches []struct {
		Texts     []string         `json:"texts"`
		Pairs     []string         `json:"pairs"`
		MaxLength int              `json:"max_length"`
		Encodings []goldenEncoding `json:"encodings"`
	} `json:"batches"`
}

func loadGolden(tb testing.TB) *goldenFile {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "tokenizer", "golden.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var g goldenFile
	if err := json.Unmarshal(b, &g); err != nil {
		tb.Fatal(err)
	}
	return &g
}

// diffEncoding returns "" if got matches want, else a description of the first difference.
func diffEncoding(got Encoding, want goldenEncoding) string {
	offs := make([]int, 0, 2*len(got.Offsets))
	for _, o := range got.Offsets {
		offs = append(offs, o[0], o[1])
	}
	if !reflect.DeepEqual(got.IDs, want.IDs) {
		return fmt.Sprintf("ids\n got  %v %q\n want %v %q", got.IDs, got.Tokens, want.IDs, want.Tokens)
	}
	if want.Tokens != nil && !reflect.DeepEqual(got.Tokens, want.Tokens) {
		return fmt.Sprintf("tokens\n got  %q\n want %q", got.Tokens, want.Tokens)
	}
	if !reflect.DeepEqual(got.TypeIDs, want.TypeIDs) {
		return fmt.Sprintf("type ids\n got  %v\n want %v", got.TypeIDs, want.TypeIDs)
	}
	if !reflect.DeepEqual(got.AttentionMask, want.AttentionMask) {
		return fmt.Sprintf("attention mask\n got  %v\n want %v", got.AttentionMask, want.AttentionMask)
	}
	if !reflect.DeepEqual(offs, want.Offsets) {
		return fmt.Sprintf("offsets\n got  %v\n want %v\n tokens %q", offs, want.Offsets, got.Tokens)
	}
	if !reflect.DeepEqual(got.WordIDs, want.WordIDs) {
		return fmt.Sprintf("word ids\n got  %v\n want %v\n tokens %q", got.WordIDs, want.WordIDs, got.Tokens)
	}
	return ""
}

func TestGolden(t *testing.T) {
	tk := loadTokenizer(t)
	g := loadGolden(t)
	if len(g.Cases) < 900 {
		t.Fatalf("golden.json has only %d cases", len(g.Cases))
	}
	fails := 0
	for i, c := range g.Cases {
		opt := Options{MaxLength: c.MaxLength}
		var got Encoding
		if c.Pair != nil {
			got = tk.EncodePair(c.Text, *c.Pair, opt)
		} else {
			got = tk.Encode(c.Text, opt)
		}
		if d := diffEncoding(got, c.goldenEncoding); d != "" {
			fails++
			if fails <= 20 {
				pair := ""
				if c.Pair != nil {
					pair = fmt.Sprintf(" + %q", *c.Pair)
				}
				t.Errorf("case %d %q%s max_length %d: %s", i, trunc(c.Text), pair, c.MaxLength, d)
			}
		}
	}
	if fails > 0 {
		t.Errorf("%d of %d golden cases differ", fails, len(g.Cases))
	}
	t.Logf("%d golden cases (tokenizers %s)", len(g.Cases), g.TokenizersVersion)
}

func TestGoldenBatches(t *testing.T) {
	tk := loadTokenizer(t)
	g := loadGolden(t)
	if len(g.Batches) == 0 {
		t.Fatal("no batches in golden.json")
	}
	for i, b := range g.Batches {
		opt := Options{MaxLength: b.MaxLength, Pad: true}
		var got []Encoding
		if b.Pairs != nil {
			pairs := make([][2]string, len(b.Texts))
			for i := range pairs {
				pairs[i] = [2]string{b.Texts[i], b.Pairs[i]}
			}
			got = tk.EncodePairBatch(pairs, opt)
		} else {
			got = tk.EncodeBatch(b.Texts, opt)
		}
		if len(got) != len(b.Encodings) {
			t.Fatalf("batch %d: %d encodings, want %d", i, len(got), len(b.Encodings))
		}
		for j := range got {
			if d := diffEncoding(got[j], b.Encodings[j]); d != "" {
				t.Errorf("batch %d text %d %q: %s", i, j, trunc(b.Texts[j]), d)
			}
		}
	}
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func mustRead(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestGoldenAddedTokens checks single_word, lstrip, rstrip and normalized added tokens: the
// real tokenizer.json with the added_tokens list the reference had after add_tokens.
func TestGoldenAddedTokens(t *testing.T) {
	g := loadGolden(t)
	if len(g.Added.Cases) == 0 {
		t.Fatal("no added-token cases in golden.json")
	}
	var file map[string]json.RawMessage
	if err := json.Unmarshal(mustRead(t, filepath.Join("..", "..", "testdata", "tiny", "model", "tokenizer.json")), &file); err != nil {
		t.Fatal(err)
	}
	file["added_tokens"] = g.Added.AddedTokens
	b, err := json.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := FromJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	if tk.VocabSize() != 30527 {
		t.Errorf("VocabSize = %d, want 30527", tk.VocabSize())
	}
	for i, c := range g.Added.Cases {
		if d := diffEncoding(tk.Encode(c.Text, Options{MaxLength: c.MaxLength}), c.goldenEncoding); d != "" {
			t.Errorf("case %d %q: %s", i, c.Text, d)
		}
	}
}

// TestRandomGolden runs a large differential test when TOKENIZER_RANDOM_GOLDEN names a file
// made by `make_tokenizer_golden.py --random PATH N SEED` (not committed: too big).
func TestRandomGolden(t *testing.T) {
	path := os.Getenv("TOKENIZER_RANDOM_GOLDEN")
	if path == "" {
		t.Skip("TOKENIZER_RANDOM_GOLDEN not set")
	}
	var g goldenFile
	if err := json.Unmarshal(mustRead(t, path), &g); err != nil {
		t.Fatal(err)
	}
	tk := loadTokenizer(t)
	fails := 0
	for i, c := range g.Cases {
		var got Encoding
		if c.Pair != nil {
			got = tk.EncodePair(c.Text, *c.Pair, Options{MaxLength: c.MaxLength})
		} else {
			got = tk.Encode(c.Text, Options{MaxLength: c.MaxLength})
		}
		if d := diffEncoding(got, c.goldenEncoding); d != "" {
			fails++
			if fails < 20 {
				t.Errorf("case %d %+q: %s", i, c.Text, d)
			}
		}
	}
	t.Logf("%d random cases, %d differ", len(g.Cases), fails)
}

// TestGoldenNormalizerVariants checks other BertNormalizer settings (lowercase off as in
// cased models, strip_accents forced, clean_text off) on the real vocab.
func TestGoldenNormalizerVariants(t *testing.T) {
	g := loadGolden(t)
	if len(g.Variants) == 0 {
		t.Fatal("no normalizer variants in golden.json")
	}
	var file map[string]json.RawMessage
	if err := json.Unmarshal(mustRead(t, filepath.Join("..", "..", "testdata", "tiny", "model", "tokenizer.json")), &file); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range g.Variants {
		file["normalizer"] = v.Normalizer
		b, err := json.Marshal(file)
		if err != nil {
			t.Fatal(err)
		}
		tk, err := FromJSON(b)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range v.Cases {
			n++
			if d := diffEncoding(tk.Encode(c.Text, Options{MaxLength: c.MaxLength}), c.goldenEncoding); d != "" {
				t.Errorf("normalizer %s case %d %+q: %s", v.Normalizer, i, trunc(c.Text), d)
			}
		}
	}
	t.Logf("%d cases over %d normalizer settings", n, len(g.Variants))
}

// TestGoldenLeft checks truncation and padding from the left, set in the file.
func TestGoldenLeft(t *testing.T) {
	g := loadGolden(t)
	if len(g.Left.Cases) == 0 {
		t.Fatal("no left cases in golden.json")
	}
	var file map[string]json.RawMessage
	if err := json.Unmarshal(mustRead(t, filepath.Join("..", "..", "testdata", "tiny", "model", "tokenizer.json")), &file); err != nil {
		t.Fatal(err)
	}
	file["truncation"], file["padding"] = g.Left.Truncation, g.Left.Padding
	b, err := json.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := FromJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range g.Left.Cases {
		var got Encoding
		if c.Pair != nil {
			got = tk.EncodePair(c.Text, *c.Pair, Options{MaxLength: c.MaxLength})
		} else {
			got = tk.Encode(c.Text, Options{MaxLength: c.MaxLength})
		}
		if d := diffEncoding(got, c.goldenEncoding); d != "" {
			t.Errorf("case %d %q: %s", i, trunc(c.Text), d)
		}
	}
	got := tk.EncodeBatch(g.Left.Batch.Texts, Options{Pad: true})
	for i := range got {
		if d := diffEncoding(got[i], g.Left.Batch.Encodings[i]); d != "" {
			t.Errorf("batch %d %q: %s", i, trunc(g.Left.Batch.Texts[i]), d)
		}
	}
}
