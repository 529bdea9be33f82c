package pretrained_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
)

// TestLengthGroups checks the grouping of texts by length: shortest first, every text once, at
// most size texts and rows padded tokens per group, and a text longer than rows alone.
func TestLengthGroups(t *testing.T) {
	m, err := pretrained.LoadDir(golden.Path("tiny", "model"))
	if err != nil {
		t.Fatal(err)
	}
	words := func(n int) string { return strings.TrimSpace(strings.Repeat("word ", n)) }
	texts := []string{words(60), words(1), words(30), words(3), words(60), words(2), words(10), words(200)}
	tokens := func(i int) int { in, _ := m.Tokenize(texts[i:i+1], 0); return in.T }
	for _, c := range []struct{ size, rows int }{{8, 1 << 20}, {3, 1 << 20}, {8, 128}, {8, 64}, {2, 10}} {
		groups := m.LengthGroups(texts, 0, c.size, c.rows)
		var seen []int
		last := 0
		for _, g := range groups {
			if len(g) == 0 || len(g) > c.size {
				t.Fatalf("%+v: group of %d texts", c, len(g))
			}
			longest := 0
			for _, i := range g {
				if n := tokens(i); n < last {
					t.Fatalf("%+v: %v not shortest first", c, groups)
				} else {
					last, longest = n, max(longest, n)
				}
			}
			if len(g) > 1 && len(g)*longest > c.rows {
				t.Fatalf("%+v: group %v is %d×%d padded tokens", c, g, len(g), longest)
			}
			seen = append(seen, g...)
		}
		slices.Sort(seen)
		if !slices.Equal(seen, []int{0, 1, 2, 3, 4, 5, 6, 7}) {
			t.Fatalf("%+v: texts %v, want each once", c, seen)
		}
		if c.rows == 64 && len(groups) < 4 {
			t.Fatalf("%+v: %v: the 64-token budget should split the long texts", c, groups)
		}
	}
}
