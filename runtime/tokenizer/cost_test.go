package tokenizer

import (
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// encodeCost encodes text once and returns how long it took and the bytes it allocated.
func encodeCost(tk *Tokenizer, text string, opt Options) (Encoding, time.Duration, uint64) {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	t0 := time.Now()
	e := tk.Encode(text, opt)
	d := time.Since(t0)
	runtime.ReadMemStats(&b)
	return e, d, b.TotalAlloc - a.TotalAlloc
}

const bertParts = `"normalizer":{"type":"BertNormalizer","clean_text":true,"handle_chinese_chars":true,"strip_accents":null,"lowercase":true},"pre_tokenizer":{"type":"BertPreTokenizer"}`

// TestEncodeCostLinear: hostile texts and tokenizer files cost time and memory linear in the
// text, with small factors: left truncation keeps only the tokens it returns, a run of millions
// of combining marks is sorted in O(n log n) and held in bounded memory, and WordPiece tries only
// the lengths its vocab has.
func TestEncodeCostLinear(t *testing.T) {
	vocab := `"vocab":{"[UNK]":0,"a":1,"##a":2,"b":3,"##b":4}`
	longEntry := strings.Repeat("a", 50_000)
	for _, tc := range []struct {
		name     string
		file     string
		text     string
		opt      Options
		maxTime  time.Duration
		maxAlloc uint64 // bytes
		want     int    // tokens, special ones included (none here)
	}{
		{"left truncation of 4 MB", `{"truncation":{"direction":"Left","max_length":8,"strategy":"LongestFirst","stride":0},` + bertParts + `,"model":{"type":"WordPiece",` + vocab + `}}`,
			strings.Repeat("a ", 2<<20), Options{}, 2 * time.Second, 1 << 20, 8},
		{"2M combining marks, accents kept", `{` + strings.Replace(bertParts, `"strip_accents":null`, `"strip_accents":false`, 1) + `,"model":{"type":"WordPiece",` + vocab + `}}`,
			"a" + strings.Repeat("\u0301\u0316", 1<<20), Options{MaxLength: 8}, 2 * time.Second, 1 << 20, 1},
		{"2M combining marks, strip_accents", `{` + strings.Replace(bertParts, `"strip_accents":null`, `"strip_accents":true`, 1) + `,"model":{"type":"WordPiece",` + vocab + `}}`,
			"a" + strings.Repeat("\u0301\u0316", 1<<20), Options{MaxLength: 8}, 2 * time.Second, 1 << 20, 1},
		{"WordPiece, 50 KB vocab entry", `{` + bertParts + `,"model":{"type":"WordPiece","max_input_chars_per_word":1000,"vocab":{"[UNK]":0,"a":1,"##a":2,"` + longEntry + `":3}}}`,
			strings.Repeat(strings.Repeat("a", 999)+" ", 100), Options{MaxLength: 100_000}, 2 * time.Second, 1 << 20, 99_900},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tk, err := FromJSON([]byte(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			e, d, alloc := encodeCost(tk, tc.text, tc.opt)
			t.Logf("%d-byte text: %d tokens in %v, %d KB allocated", len(tc.text), len(e.IDs), d.Round(time.Millisecond), alloc>>10)
			if len(e.IDs) != tc.want {
				t.Errorf("%d tokens, want %d", len(e.IDs), tc.want)
			}
			if alloc > tc.maxAlloc+uint64(len(e.IDs))*256 {
				t.Errorf("allocated %d KB", alloc>>10)
			}
			if runtime.GOOS == "js" {
				tc.maxTime *= 10 // Go in Wasm runs this code ~3-5 times slower, on a shared machine
			}
			if d > tc.maxTime {
				t.Errorf("took %v", d)
			}
		})
	}
}

// TestLeftTruncationWindow: left truncation keeps the same last tokens, offsets and word ids as
// truncating the full encoding, for texts shorter and far longer than the window it holds.
func TestLeftTruncationWindow(t *testing.T) {
	file := `{"truncation":{"direction":"Left","max_length":5,"strategy":"LongestFirst","stride":0},` + bertParts + `,"model":{"type":"WordPiece","vocab":{"[UNK]":0,"a":1,"##a":2,"b":3,"##b":4}}}`
	tk, err := FromJSON([]byte(file))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 3, 5, 6, 100, 10_000} {
		var words []string
		for i := range n {
			words = append(words, strings.Repeat("ab", i%7+1))
		}
		text := strings.Join(words, " ")
		got := tk.Encode(text, Options{})
		full := tk.Encode(text, Options{MaxLength: -1})
		k := min(5, len(full.IDs))
		for _, f := range []struct {
			name string
			ok   bool
		}{
			{"ids", slices.Equal(got.IDs, full.IDs[len(full.IDs)-k:])},
			{"offsets", slices.Equal(got.Offsets, full.Offsets[len(full.Offsets)-k:])},
			{"word ids", slices.Equal(got.WordIDs, full.WordIDs[len(full.WordIDs)-k:])},
		} {
			if !f.ok {
				t.Errorf("%d words: %s differ: %v vs %v", n, f.name, got, full.IDs[len(full.IDs)-k:])
			}
		}
		p := tk.EncodePair(text, text, Options{})
		if len(p.IDs) != min(5, 2*len(full.IDs)) {
			t.Errorf("%d words: pair of %d tokens", n, len(p.IDs))
		}
	}
}
