package tokenizer

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
)

// modelGolden is a golden_<name>.json of tools/reference/make_tokenizer_golden.py
// (model_golden): encodings of another model type's tokenizer.json.
type modelGolden struct {
	TokenizersVersion string `json:"tokenizers_version"`
	Tokenizer         string `json:"tokenizer"`
	Padding           struct {
		PadID    int32  `json:"pad_id"`
		PadToken string `json:"pad_token"`
	} `json:"padding"`
	Counts  map[string]int `json:"counts"`
	Cases   []goldenCase   `json:"cases"`
	Batches []struct {
		Texts     []string         `json:"texts"`
		MaxLength int              `json:"max_length"`
		Encodings []goldenEncoding `json:"encodings"`
	} `json:"batches"`
}

func loadModelGolden(tb testing.TB, name string) (*Tokenizer, *modelGolden) {
	tb.Helper()
	var g modelGolden
	if err := json.Unmarshal(mustRead(tb, filepath.Join("..", "..", "testdata", "tokenizer", "golden_"+name+".json")), &g); err != nil {
		tb.Fatal(err)
	}
	tk, err := FromJSON(mustRead(tb, filepath.Join("..", "..", g.Tokenizer)))
	if err != nil {
		tb.Fatal(err)
	}
	return tk, &g
}

// testModelGolden checks every case and batch of golden_<name>.json: ids, tokens, type ids,
// attention mask, offsets and word ids.
func testModelGolden(t *testing.T, name string, minCases int) {
	tk, g := loadModelGolden(t, name)
	if len(g.Cases) < minCases {
		t.Fatalf("golden_%s.json has only %d cases", name, len(g.Cases))
	}
	tk.padID, tk.padToken = g.Padding.PadID, g.Padding.PadToken
	fails, idFails := 0, 0
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
			if fmt.Sprint(got.IDs) != fmt.Sprint(c.IDs) {
				idFails++
			}
			if fails <= 20 {
				pair := ""
				if c.Pair != nil {
					pair = fmt.Sprintf(" + %q", trunc(*c.Pair))
				}
				t.Errorf("case %d %q%s max_length %d: %s", i, trunc(c.Text), pair, c.MaxLength, d)
			}
		}
	}
	for bi, b := range g.Batches {
		got := tk.EncodeBatch(b.Texts, Options{MaxLength: b.MaxLength, Pad: true})
		for i := range got {
			if d := diffEncoding(got[i], b.Encodings[i]); d != "" {
				fails++
				t.Errorf("batch %d text %d: %s", bi, i, d)
			}
		}
	}
	if fails > 0 {
		t.Errorf("%s: %d of %d golden cases differ (%d in their ids)", name, fails, len(g.Cases), idFails)
	}
	t.Logf("%s: %d golden cases %v and %d batches agree (tokenizers %s)", name, len(g.Cases)-fails, g.Counts, len(g.Batches), g.TokenizersVersion)
}

func TestGoldenBPE(t *testing.T) { testModelGolden(t, "bpe", 900) }
