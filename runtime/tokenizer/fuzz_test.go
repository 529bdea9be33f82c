package tokenizer

import (
	"strings"
	"testing"
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
		check := func(e Encoding, texts ...string) {
			n := len(e.IDs)
			if len(e.TypeIDs) != n || len(e.AttentionMask) != n || len(e.Tokens) != n ||
				len(e.Offsets) != n || len(e.WordIDs) != n || len(e.SequenceIDs) != n {
				t.Fatalf("slice lengths differ: %d ids", n)
			}
			if opt.MaxLength >= len(texts)+1 && n > opt.MaxLength {
				t.Fatalf("%d tokens for MaxLength %d", n, opt.MaxLength)
			}
			last := []int{0, 0}
			lastWord := []int{-1, -1}
			for i := 0; i < n; i++ {
				if e.IDs[i] < 0 || int(e.IDs[i]) >= tk.VocabSize() {
					t.Fatalf("id %d out of range", e.IDs[i])
				}
				if e.Tokens[i] != tk.IDToToken(e.IDs[i]) {
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
				if o[0] < last[s] || o[0] > o[1] || o[1] > len(texts[s]) {
					t.Fatalf("token %d %q: offsets %v (previous start %d, text %d bytes)", i, e.Tokens[i], o, last[s], len(texts[s]))
				}
				last[s] = o[0]
				if e.WordIDs[i] < lastWord[s] {
					t.Fatalf("word ids go backwards at %d", i)
				}
				lastWord[s] = e.WordIDs[i]
			}
		}
		check(tk.Encode(a, opt), a)
		check(tk.EncodePair(a, b, opt), a, b)
	})
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
