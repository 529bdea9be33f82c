package tokenizer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// unicodeFile is testdata/tokenizer/unicode.json: every code point run through the
// reference BertNormalizer (hashed per block) and BertPreTokenizer (as class ranges).
type unicodeFile struct {
	Block       int                 `json:"block"`
	Normalizers map[string][]string `json:"normalizers"`
	Space       [][2]rune           `json:"pretokenizer_space"`
	Punct       [][2]rune           `json:"pretokenizer_punct"`
}

func loadUnicode(t *testing.T) *unicodeFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "tokenizer", "unicode.json"))
	if err != nil {
		t.Fatal(err)
	}
	var u unicodeFile
	if err := json.Unmarshal(b, &u); err != nil {
		t.Fatal(err)
	}
	return &u
}

// TestNormalizerEveryCodePoint checks the normalizer on each code point on its own against
// the reference, a block of code points at a time.
func TestNormalizerEveryCodePoint(t *testing.T) {
	u := loadUnicode(t)
	for name, n := range map[string]normalizer{
		"bert_lowercase":              {kind: normBert, cleanText: true, chinese: true, stripAccents: true, lowercase: true},
		"bert_cased":                  {kind: normBert, cleanText: true, chinese: true},
		"bert_lowercase_keep_accents": {kind: normBert, cleanText: true, chinese: true, lowercase: true},
		"bert_strip_accents_cased":    {kind: normBert, cleanText: true, chinese: true, stripAccents: true},
	} {
		hashes := u.Normalizers[name]
		if len(hashes) != 0x110000/u.Block {
			t.Fatalf("%s: %d block hashes", name, len(hashes))
		}
		var ns normState
		var buf []byte
		bad := 0
		for b := range hashes {
			h := sha256.New()
			for c := rune(b * u.Block); c < rune((b+1)*u.Block); c++ {
				if c >= 0xD800 && c <= 0xDFFF {
					continue
				}
				ns.reset()
				n.push(&ns, c, align{})
				n.finish(&ns)
				buf = buf[:0]
				for _, r := range ns.out {
					buf = utf8.AppendRune(buf, r)
				}
				h.Write(buf)
				h.Write([]byte{0})
			}
			if got := hex.EncodeToString(h.Sum(nil))[:16]; got != hashes[b] {
				bad++
				t.Errorf("%s: code points %#x-%#x differ from the reference", name, b*u.Block, (b+1)*u.Block-1)
			}
		}
		if bad > 0 {
			t.Logf("%s: %d blocks differ; list the code points with the reference venv", name, bad)
		}
	}
}

// TestPreTokenizerClasses checks isWhitespace and isPunct on every code point.
func TestPreTokenizerClasses(t *testing.T) {
	u := loadUnicode(t)
	in := func(rs [][2]rune, c rune) bool {
		lo, hi := 0, len(rs)
		for lo < hi {
			m := (lo + hi) / 2
			switch {
			case c < rs[m][0]:
				hi = m
			case c > rs[m][1]:
				lo = m + 1
			default:
				return true
			}
		}
		return false
	}
	bad := 0
	for c := rune(0); c < 0x110000; c++ {
		if c >= 0xD800 && c <= 0xDFFF {
			continue
		}
		if got, want := isWhitespace(c), in(u.Space, c); got != want {
			bad++
			if bad < 50 {
				t.Errorf("isWhitespace(%U) = %v, reference %v", c, got, want)
			}
		}
		if got, want := isPunct(c) && !isWhitespace(c), in(u.Punct, c); got != want {
			bad++
			if bad < 50 {
				t.Errorf("isPunct(%U) = %v, reference %v", c, got, want)
			}
		}
	}
}
