package tokenizer

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math/rand"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// xlmrCharsmap is the decoded precompiled_charsmap of testdata/tokenizer/xlmr (SentencePiece's
// nmt_nfkc) and the file it came from, parsed as a map.
func xlmrCharsmap(tb testing.TB) ([]byte, map[string]any) {
	tb.Helper()
	var file map[string]any
	if err := json.Unmarshal(mustRead(tb, filepath.Join("..", "..", "testdata", "tokenizer", "xlmr", "tokenizer.json")), &file); err != nil {
		tb.Fatal(err)
	}
	n := file["normalizer"].(map[string]any)["normalizers"].([]any)[0].(map[string]any)
	b, err := base64.StdEncoding.DecodeString(n["precompiled_charsmap"].(string))
	if err != nil {
		tb.Fatal(err)
	}
	return b, file
}

// withCharsmap is the xlmr tokenizer with its charsmap replaced by b.
func withCharsmap(tb testing.TB, file map[string]any, b []byte) (*Tokenizer, error) {
	tb.Helper()
	n := file["normalizer"].(map[string]any)["normalizers"].([]any)[0].(map[string]any)
	old := n["precompiled_charsmap"]
	defer func() { n["precompiled_charsmap"] = old }()
	n["precompiled_charsmap"] = base64.StdEncoding.EncodeToString(b)
	j, err := json.Marshal(file)
	if err != nil {
		tb.Fatal(err)
	}
	return FromJSON(j)
}

// TestRealCharsmap checks what the bounds assume of the real charsmap: its trie and its
// longest normalized string.
func TestRealCharsmap(t *testing.T) {
	b, _ := xlmrCharsmap(t)
	pc, err := newPrecompiled(b)
	if err != nil {
		t.Fatal(err)
	}
	longest := 0
	for _, s := range strings.Split(pc.pool, "\x00") {
		longest = max(longest, len(s))
	}
	t.Logf("charsmap %d bytes: %d trie units, pool %d bytes, longest normalized string %d bytes (bound %d)",
		len(b), len(pc.trie), len(pc.pool), longest, maxReplacementBytes)
	if longest > maxReplacementBytes || longest < 16 {
		t.Errorf("longest normalized string %d bytes: revisit maxReplacementBytes %d", longest, maxReplacementBytes)
	}
	for _, c := range []struct{ in, want string }{{"\uff21", "A"}, {"\ufb01", "fi"}, {"\u00a0", " "}, {"e\u0301", "é"}} {
		if got, ok := pc.transform([]byte(c.in)); !ok || got != c.want {
			t.Errorf("transform(%q) = %q, %v; want %q", c.in, got, ok, c.want)
		}
	}
	if _, ok := pc.transform([]byte("a")); ok {
		t.Error("transform(a) found a mapping")
	}
}

// TestHostileCharsmap: a charsmap whose trie points anywhere (past the trie, past the pool, into
// the middle of a character) never panics and never writes offsets outside the text.
func TestHostileCharsmap(t *testing.T) {
	real, file := xlmrCharsmap(t)
	units := binary.LittleEndian.Uint32(real) / 4
	rng := rand.New(rand.NewSource(1))
	mutate := map[string]func(b []byte){
		"all units 0xffffffff": func(b []byte) {
			for i := uint32(0); i < units; i++ {
				binary.LittleEndian.PutUint32(b[4+4*i:], 0xffffffff)
			}
		},
		"leaf values past the pool": func(b []byte) {
			for i := uint32(0); i < units; i++ {
				if u := binary.LittleEndian.Uint32(b[4+4*i:]); u>>8&1 == 0 {
					binary.LittleEndian.PutUint32(b[4+4*i:], u|0x7fff0000)
				}
			}
		},
		"random units": func(b []byte) {
			for i := uint32(0); i < units; i++ {
				if rng.Intn(4) == 0 {
					binary.LittleEndian.PutUint32(b[4+4*i:], rng.Uint32())
				}
			}
		},
		"values one byte on": func(b []byte) {
			for i := uint32(0); i < units; i++ {
				if u := binary.LittleEndian.Uint32(b[4+4*i:]); u>>8&1 == 0 && u&(1<<31) == 0 {
					binary.LittleEndian.PutUint32(b[4+4*i:], u+1)
				}
			}
		},
	}
	texts := append([]string{}, "ｶﾞ ﬁ\u0301 \u00a0\u0301 e\u0301 Ｆｕｌｌ \ufdfa  a   b  ", "\u200b\u200b", strings.Repeat("é", 200))
	for name, f := range mutate {
		b := append([]byte(nil), real...)
		f(b)
		tk, err := withCharsmap(t, file, b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, text := range texts {
			checkEncoding(t, tk, Options{}, tk.Encode(text, Options{MaxLength: -1}), text)
		}
	}
	// A trie of one unit, and a trie of none.
	for _, b := range [][]byte{{4, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 'x'}, {0, 0, 0, 0, 'x', 0}, {3, 0, 0, 0, 'a', 'b', 'c'}} {
		tk, err := withCharsmap(t, file, b)
		if err != nil {
			t.Fatalf("%x: %v", b, err)
		}
		checkEncoding(t, tk, Options{}, tk.Encode(texts[0], Options{}), texts[0])
	}
}

// TestReplaceMatcher: the allocation-free matchers find the matches regexp finds.
func TestReplaceMatcher(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	for _, pat := range []string{" {2,}", " {3,}", "a+", "ab", "▁▁", "  +", "aa*", "(?:a)+"} {
		m, err := replaceRegexp(pat)
		if err != nil {
			t.Fatal(pat, err)
		}
		if pat != "(?:a)+" && m.re != nil {
			t.Errorf("%q: falls back to regexp", pat)
		}
		re := regexp.MustCompile(pat)
		for range 2000 {
			var sb strings.Builder
			for range rng.Intn(20) {
				sb.WriteString([]string{" ", "a", "b", "▁", "é"}[rng.Intn(5)])
			}
			b := []byte(sb.String())
			var got [][]int
			for pos := 0; pos < len(b); {
				m0, m1, ok := m.next(b, pos)
				if !ok {
					break
				}
				got = append(got, []int{m0, m1})
				pos = m1
			}
			if want := re.FindAllIndex(b, -1); len(got) != len(want) || (len(got) > 0 && !equalInts(got, want)) {
				t.Fatalf("%q on %q: %v, regexp %v", pat, b, got, want)
			}
		}
	}
}

func equalInts(a, b [][]int) bool {
	for i := range a {
		if a[i][0] != b[i][0] || a[i][1] != b[i][1] {
			return false
		}
	}
	return true
}

// TestSequenceCostLinear: hostile texts through XLM-R's normalizers cost time and memory linear
// in the text: characters mapped to nothing (their removals pile onto one earlier character),
// clusters looked up whole, expansions, runs of spaces, a whitespace tail.
func TestSequenceCostLinear(t *testing.T) {
	tk, _ := loadModelGolden(t, "xlmr")
	size := 4 << 20
	if runtime.GOOS == "js" || testing.Short() {
		size = 1 << 20
	}
	for name, unit := range map[string]string{
		"zero width": "\u200b", "cluster": "\ufb01\u0301", "expansion": "\ufdfa", "spaces": " ",
		"soft hyphens then text": "\u00ad\u00ad\u00ad\u00ad\u00ad\u00ad\u00ad\u00ada", "flags": "\U0001f1fa\U0001f1f8",
	} {
		text := strings.Repeat(unit, size/len(unit))
		e, d, alloc := encodeCost(tk, text, Options{MaxLength: 16})
		t.Logf("%s: %d bytes, %d tokens in %v, %d MB allocated", name, len(text), len(e.IDs), d.Round(time.Millisecond), alloc>>20)
		limit := 10 * time.Second
		if runtime.GOOS == "js" {
			limit *= 5
		}
		if d > limit {
			t.Errorf("%s: took %v", name, d)
		}
		// The segment is normalized whole (Metaspace needs it): runes, alignments and bytes for
		// the input and for the normalized text, each a few times the text.
		bound := uint64(len(text))*256 + 1<<20
		if name == "expansion" {
			bound = 400 << 20 // 18 characters a code point, up to MaxSegmentChars
		}
		if alloc > bound {
			t.Errorf("%s: allocated %d MB for %d bytes", name, alloc>>20, len(text))
		}
		checkEncoding(t, tk, Options{MaxLength: 16}, e, text)
	}
	// The largest text the Wasm module takes (engine.MaxTextBytes, 16 MiB) of the real
	// charsmap's largest expansion (U+FDFA, 3 bytes to 18 characters): MaxSegmentChars caps what
	// is held. Uncapped it allocated 9 GB for 4 MiB.
	if runtime.GOOS != "js" && !testing.Short() {
		text := strings.Repeat("\ufdfa", 16<<20/3)
		e, d, alloc := encodeCost(tk, text, Options{MaxLength: 16})
		t.Logf("16 MiB of U+FDFA: %d tokens in %v, %d MB allocated", len(e.IDs), d.Round(time.Millisecond), alloc>>20)
		if alloc > 400<<20 {
			t.Errorf("16 MiB of U+FDFA: allocated %d MB", alloc>>20)
		}
	}
}
