package tokenizer

import (
	"bytes"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// bigVocabJSON is a WordPiece tokenizer.json with n vocab entries (ids below 1000).
func bigVocabJSON(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"model":{"type":"WordPiece","vocab":{"[UNK]":0`)
	for i := 1; i < n; i++ {
		b.WriteString(`,"t`)
		b.WriteString(strconv.Itoa(i))
		b.WriteString(`":`)
		b.WriteString(strconv.Itoa(i % 1000))
	}
	b.WriteString(`}}}`)
	return []byte(b.String())
}

// TestTablesSizedByIDs: ids far past the number of tokens, or more vocab entries than any model
// has, are refused before the id→token table or the vocab map is allocated from them. An added
// token with id 2^24-1 in a 100-byte file used to allocate a 16M-entry table (256 MB).
func TestTablesSizedByIDs(t *testing.T) {
	const wp = `"model":{"type":"WordPiece","vocab":{"[UNK]":0,"a":1}}`
	for _, tc := range []struct {
		name string
		json []byte
		want string
	}{
		{"added token id 2^24-1", []byte(`{"added_tokens":[{"id":16777215,"content":"[X]"}],` + wp + `}`),
			`added token "[X]" has id 16777215; 3 tokens may use ids below 1030`},
		{"vocab id 100000", []byte(`{"model":{"type":"WordPiece","vocab":{"[UNK]":0,"a":100000}}}`),
			`invalid tokenizer.json: model vocab: token "a" has id 100000; 2 tokens may use ids below 1028`},
		{"vocab id 2^24-1", []byte(`{"model":{"type":"WordPiece","vocab":{"[UNK]":0,"a":16777215}}}`),
			`invalid tokenizer.json: model vocab: token "a" has id 16777215 out of range [0, 1048576)`},
		{"vocab id 2^24-1, slow path", []byte(`{"model":{"type":"WordPiece","vocab":{"[UNK]":0.0,"a":16777215}}}`),
			`invalid tokenizer.json: model vocab: an id is a number 0.0, not an integer`},
		{"vocab of 2^20+1", bigVocabJSON(1<<20 + 1), "model vocab: more than 1048576 tokens"},
		{"vocab of 2^20+1, slow path", append(bigVocabJSON(1<<20 + 1)[:30], bytes.Replace(bigVocabJSON(1<<20 + 1)[30:], []byte(`"t1":1`), []byte(`"t1":1.0`), 1)...), "model vocab: more than 1048576 tokens"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a, b runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&a)
			t0 := time.Now()
			_, err := FromJSON(tc.json)
			d := time.Since(t0)
			runtime.ReadMemStats(&b)
			grew := b.TotalAlloc - a.TotalAlloc
			t.Logf("%d-byte file: %v in %v, %d KB allocated", len(tc.json), err, d.Round(time.Millisecond), grew>>10)
			if _, ok := err.(FormatError); !ok || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a FormatError containing %q", err, tc.want)
			}
			if limit := uint64(4*len(tc.json) + 1<<20); grew > limit {
				t.Errorf("allocated %d KB for a %d-byte file", grew>>10, len(tc.json))
			}
		})
	}
	// Added tokens may take the ids after the vocab, and an id inside it.
	if _, err := FromJSON([]byte(`{"added_tokens":[{"id":2,"content":"[X]"},{"id":3,"content":"[Y]"},{"id":0,"content":"[UNK]"}],` + wp + `}`)); err != nil {
		t.Error(err)
	}
}

// TestNoGoTypeNames: a tokenizer.json value of the wrong kind is reported in JSON's terms.
func TestNoGoTypeNames(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{"added_tokens":5,"model":{"type":"WordPiece","vocab":{"[UNK]":0}}}`, `invalid tokenizer.json: "added_tokens" is a number, want a list`},
		{`{"model":{"type":"WordPiece","unk_token":7,"vocab":{"[UNK]":0}}}`, `invalid tokenizer.json: model: "unk_token" is a number, want a string`},
	} {
		_, err := FromJSON([]byte(tc.json))
		if err == nil || err.Error() != "tokenizer: "+tc.want {
			t.Errorf("%s: %v, want %q", tc.json, err, tc.want)
		}
	}
}
