package tokenizer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// modelGolden is a golden_<name>.json of tools/reference/make_tokenizer_golden.py
// (model_golden): encodings of another model type's tokenizer.json.
type modelGolden struct {
	TokenizersVersion string `json:"tokenizers_version"`
	Tokenizer         string `json:"tokenizer"`
	TokenizerSHA256   string `json:"tokenizer_sha256"`
	Padding           struct {
		PadID    int32  `json:"pad_id"`
		PadToken string `json:"pad_token"`
	} `json:"padding"`
	Counts         map[string]int `json:"counts"`
	ScoresAsLoaded []float64      `json:"scores_as_loaded"`
	// CodePoints: per block of 256 code points, the sha256 of the ids and byte offsets of
	// each code point alone, followed by U+0301 and between "a" and "b" (code_point_golden).
	CodePoints map[string]string `json:"code_points"`
	// Graphemes: texts and their extended grapheme clusters' lengths in code points.
	Graphemes []struct {
		Text     string `json:"text"`
		Clusters []int  `json:"clusters"`
	} `json:"graphemes"`
	Cases   []goldenCase `json:"cases"`
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
	path := filepath.Join("..", "..", g.Tokenizer)
	if rest, ok := strings.CutPrefix(g.Tokenizer, "$ADAPTERWASM_CACHE/"); ok {
		// A real tokenizer too large to commit, written to the cache by the reference script.
		cache := os.Getenv("ADAPTERWASM_CACHE")
		if cache == "" {
			cache = filepath.Join("..", "..", ".cache")
		}
		path = filepath.Join(cache, rest)
		if _, err := os.Stat(path); err != nil {
			if os.Getenv("CI") != "" {
				tb.Fatalf("%s: %v (tools/reference/make_tokenizer_golden.py --models writes it)", path, err)
			}
			tb.Skipf("%s: %v; run tools/reference/make_tokenizer_golden.py --models", path, err)
		}
	}
	b := mustRead(tb, path)
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != g.TokenizerSHA256 {
		tb.Fatalf("%s is not the file the golden was made with (sha256 %x, want %s)", path, sum, g.TokenizerSHA256)
	}
	tk, err := FromJSON(b)
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

func TestGoldenBPE(t *testing.T)     { testModelGolden(t, "bpe", 900) }
func TestGoldenUnigram(t *testing.T) { testModelGolden(t, "unigram", 900) }

// TestGoldenXLMR runs the goldens of an XLM-R-style tokenizer (SentencePiece nmt_nfkc
// Precompiled charsmap, Strip, Replace, Metaspace, Unigram), trained and converted as
// testdata/README.md says.
func TestGoldenXLMR(t *testing.T) { testModelGolden(t, "xlmr", 900) }

// TestGraphemes checks graphemeBreaker's clusters against the regex module's (whose Unicode
// tables grapheme_tables.go holds) on the hard texts and on sequences for every rule.
func TestGraphemes(t *testing.T) {
	_, g := loadModelGolden(t, "xlmr")
	if len(g.Graphemes) < 500 {
		t.Fatalf("golden_xlmr.json has %d grapheme cases", len(g.Graphemes))
	}
	fails := 0
	for _, c := range g.Graphemes {
		var got []int
		var b graphemeBreaker
		for _, r := range c.Text {
			if b.breakBefore(graphemeClass(r)) {
				got = append(got, 0)
			}
			got[len(got)-1]++
		}
		if fmt.Sprint(got) != fmt.Sprint(c.Clusters) {
			if fails++; fails <= 10 {
				t.Errorf("%+q: clusters %v, want %v", c.Text, got, c.Clusters)
			}
		}
	}
	if fails > 0 {
		t.Fatalf("%d of %d texts differ", fails, len(g.Graphemes))
	}
	t.Logf("%d texts split as the regex module splits them", len(g.Graphemes))
}

// TestXLMRCodePoints encodes every code point alone, followed by a combining acute and between
// two letters, and compares ids and offsets with the reference's, block by block.
func TestXLMRCodePoints(t *testing.T) {
	if testing.Short() {
		t.Skip("3.3M encodings")
	}
	tk, g := loadModelGolden(t, "xlmr")
	if len(g.CodePoints) < 4000 {
		t.Fatalf("golden_xlmr.json has %d code point blocks", len(g.CodePoints))
	}
	blocks := 0
	var buf []byte
	for b := 0; b < 0x1100; b++ {
		want, ok := g.CodePoints[strconv.FormatInt(int64(b), 16)]
		if !ok {
			continue // surrogates
		}
		h := sha256.New()
		for c := rune(b << 8); c < rune(b+1)<<8; c++ {
			if 0xD800 <= c && c <= 0xDFFF {
				continue
			}
			for _, text := range []string{string(c), string(c) + "\u0301", "a" + string(c) + "b"} {
				e := tk.Encode(text, Options{MaxLength: -1})
				buf = appendIDsOffsets(buf[:0], e)
				h.Write(buf)
			}
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != want {
			if blocks++; blocks <= 10 {
				t.Errorf("block U+%04X..U+%04X differs from the reference", b<<8, b<<8+255)
			}
		}
	}
	if blocks > 0 {
		t.Fatalf("%d of %d blocks differ", blocks, len(g.CodePoints))
	}
	t.Logf("%d blocks of 256 code points, 3 texts each: ids and offsets equal the reference's", len(g.CodePoints))
}

// appendIDsOffsets writes e as code_point_golden's json.dumps([ids, offsets]) does: all ids,
// the byte offsets of the sequence's tokens (special tokens left out).
func appendIDsOffsets(b []byte, e Encoding) []byte {
	b = append(b, "[["...)
	for i, id := range e.IDs {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(id), 10)
	}
	b = append(b, "],["...)
	first := true
	for i, o := range e.Offsets {
		if e.SequenceIDs[i] < 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(o[0]), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(o[1]), 10)
		b = append(b, ']')
	}
	return append(b, "]]"...)
}

// TestGoldenGPT2 runs the goldens of GPT-2's real vocabulary and merges (50,257 tokens).
func TestGoldenGPT2(t *testing.T) { testModelGolden(t, "gpt2", 900) }

// TestSerdeFloat checks serdeFloat against the scores the reference holds after reading
// testdata/tokenizer/unigram/tokenizer.json: every one equal, where strconv.ParseFloat
// (the nearest float) differs for some, and those ulps flip ties in Viterbi.
func TestSerdeFloat(t *testing.T) {
	_, g := loadModelGolden(t, "unigram")
	var file struct {
		Model struct {
			Vocab [][2]json.RawMessage `json:"vocab"`
		} `json:"model"`
	}
	if err := json.Unmarshal(mustRead(t, filepath.Join("..", "..", g.Tokenizer)), &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Model.Vocab) != len(g.ScoresAsLoaded) {
		t.Fatalf("%d scores in the file, %d in the golden", len(file.Model.Vocab), len(g.ScoresAsLoaded))
	}
	nearest := 0
	for i, e := range file.Model.Vocab {
		got, ok := serdeFloat(e[1])
		if !ok || got != g.ScoresAsLoaded[i] {
			t.Errorf("score %d %s: got %v (ok %v), the reference holds %v", i, e[1], got, ok, g.ScoresAsLoaded[i])
		}
		if f, _ := strconv.ParseFloat(string(e[1]), 64); f != g.ScoresAsLoaded[i] {
			nearest++
		}
	}
	if nearest == 0 {
		t.Error("no score where the nearest float differs from the reference's: the test shows nothing")
	}
	t.Logf("%d scores equal the reference's; the nearest float differs for %d", len(g.ScoresAsLoaded), nearest)
	for _, c := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"0", 0, true}, {"-0.0", 0, true}, {"12", 12, true}, {"-1.5", -1.5, true}, {"1e2", 100, true},
		{"2.5E-3", 0.0025, true}, {"1e400", 0, false}, {"1e-400", 0, true}, {"01", 0, false}, {"1.", 0, false},
		{".5", 0, false}, {"1e", 0, false}, {"x", 0, false}, {"", 0, false}, {"-", 0, false}, {"1 ", 0, false},
		{"18446744073709551616", 18446744073709551616, true}, {"1e99999999999", 0, false}, {"1e-99999999999", 0, true},
	} {
		got, ok := serdeFloat([]byte(c.in))
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("serdeFloat(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
