package adapters

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adapterwasm/adapterwasm/runtime/bert"
)

// extraCase is adapters/testdata/extra/golden/<case>.json (tools/reference/make_extra.py).
type extraCase struct {
	Case           string          `json:"case"`
	Setup          string          `json:"setup"`
	Adapters       []string        `json:"adapters"`
	Fusions        []string        `json:"fusions"`
	Head           json.RawMessage `json:"head"`
	Merge          string          `json:"merge"`
	Logits         json.RawMessage `json:"logits"`
	LogitsUnmerged json.RawMessage `json:"logits_unmerged"`
	// Raises names the exception the library raises on this setup (no logits then).
	Raises string `json:"raises"`
}

func loadExtraJSON(t *testing.T, v any, name string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "extra", "golden", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// TestExtraGoldens covers, against the real library, what the tiny fixtures do not: gating,
// channel scaling, post_add residuals, per-layer reduction factors, leave_out, no original LN
// after, scaled parallel adapters with gating and ln_after, LoRA gating/leave_out, IA3 on q/v/out,
// flat and left-out prefixes, MAM and config-string unions, static and residual_before fusions,
// Parallel/BatchSplit of LoRAs, Parallel in a Stack, stacked and parallel prefixes, 3-way
// Average, Split over a Stack, Fuse in a Stack, Fuse and Split stacked on LoRA, IA3/LoRA merges,
// and legacy configs; and the Fuse/Split-with-LoRA setups the library refuses ("raises").
func TestExtraGoldens(t *testing.T) {
	base := tinyBase(t)
	in := tinyInput(t)
	var index struct{ Cases []string }
	loadExtraJSON(t, &index, "index.json")
	if len(index.Cases) < 30 {
		t.Fatalf("%d cases", len(index.Cases))
	}
	for _, name := range index.Cases {
		var c extraCase
		loadExtraJSON(t, &c, name+".json")
		for _, sub := range []string{"adapters", "adapters_st"} {
			t.Run(name+"/"+sub, func(t *testing.T) {
				runGoldenCase(t, base, in, filepath.Join("testdata", "extra", sub), &c)
			})
		}
	}
}

// runGoldenCase loads the adapters and fusions of c from dir, activates its setup (and head, and
// merge), runs the batch and compares every head's logits (and the unmerged ones), or checks
// that Forward refuses the setup as the library does (c.Raises).
func runGoldenCase(t *testing.T, base *bert.Model, in bert.Input, dir string, c *extraCase) {
	t.Helper()
	m := New(base)
	for _, a := range c.Adapters {
		if _, err := m.LoadDir(filepath.Join(dir, a), LoadOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range c.Fusions {
		if _, err := m.LoadDir(filepath.Join(dir, f), LoadOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.SetActive(c.Setup); err != nil {
		t.Fatal(err)
	}
	var single string
	_ = json.Unmarshal(c.Head, &single)
	if single != "" {
		if err := m.SetHead(single); err != nil {
			t.Fatal(err)
		}
	}
	if c.Merge != "" {
		if err := m.Merge(c.Merge); err != nil {
			t.Fatal(err)
		}
	}
	st := &State{}
	out, err := m.Forward(st, in)
	if c.Raises != "" {
		// The library refuses the setup while running; so must Forward, with a typed error.
		if err == nil || !strings.Contains(err.Error(), c.Raises) || !(isType[*SetupError](err) || isType[*UnsupportedError](err)) {
			t.Fatalf("%s: err = %v, want a SetupError/UnsupportedError naming %s", c.Setup, err, c.Raises)
		}
		t.Logf("%s: %v", c.Setup, err)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	checkFirstOnly(t, m, in, out)
	if single != "" {
		checkLogits(t, single, out.Heads[0].Logits, flatLogits(t, c.Logits))
	} else {
		checkHeadLogits(t, out.Heads, c.Head, c.Logits)
	}
	if c.Merge != "" {
		m.Unmerge()
		out, err := m.Forward(st, in)
		if err != nil {
			t.Fatal(err)
		}
		checkLogits(t, "unmerged", out.Heads[0].Logits, flatLogits(t, c.LogitsUnmerged))
	}
}
