package adapters

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// methodsDir is adapters/testdata/methods (tools/reference/make_methods.py).
func methodsDir(parts ...string) string {
	return filepath.Join(append([]string{"testdata", "methods"}, parts...)...)
}

func loadMethodsJSON(t *testing.T, v any, parts ...string) {
	t.Helper()
	b, err := os.ReadFile(methodsDir(parts...))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// TestActivationGoldens: a seq_bn adapter and a 2-layer head with every activation of the
// library's table (transformers' ACT2FN as Activation_Function_Class uses it, plus "leakyrelu"),
// the learned prelu and xielu included, from both copies.
func TestActivationGoldens(t *testing.T) {
	base := tinyBase(t)
	in := tinyInput(t)
	var index struct{ Cases []string }
	loadMethodsJSON(t, &index, "activations", "golden", "index.json")
	if len(index.Cases) < 23 {
		t.Fatalf("%d activation cases", len(index.Cases))
	}
	for _, name := range index.Cases {
		var c extraCase
		loadMethodsJSON(t, &c, "activations", "golden", name+".json")
		for _, sub := range []string{"adapters", "adapters_st"} {
			t.Run(name+"/"+sub, func(t *testing.T) {
				m := New(base)
				if _, err := m.LoadDir(methodsDir("activations", sub, name), LoadOptions{}); err != nil {
					t.Fatal(err)
				}
				if err := m.SetActive(c.Setup); err != nil {
					t.Fatal(err)
				}
				out, err := m.Forward(&State{}, in)
				if err != nil {
					t.Fatal(err)
				}
				checkLogits(t, name, out.Heads[0].Logits, flatLogits(t, c.Logits))
			})
		}
	}
}

// registryRefused lists the named configs of ADAPTER_CONFIG_MAP this package still refuses, and
// the "unsupported: …" text that says why. Every other preset must load and match the library.
var registryRefused = map[string]string{
	"direft":            "method reft",
	"loreft":            "method reft",
	"noreft":            "method reft",
	"prompt_tuning":     "method prompt_tuning",
	"mtl_lora":          "method mtl_lora",
	"unipelt":           "prefix_tuning use_gating",
	"pfeiffer+inv":      "inv",
	"houlsby+inv":       "inv",
	"seq_bn_inv":        "inv",
	"double_seq_bn_inv": "inv",
	"dora":              "DoRA",
	"dvora":             "DoRA",
	"vera":              "VeRA",
}

// TestRegistrySweep loads every named config the library has (ADAPTER_CONFIG_MAP), as the library
// saved it after adding it to the tiny model: each loads and gives the library's logits, or is
// refused with a clear "unsupported: <method>" error listed in registryRefused. A new preset in
// a new library version shows up here first.
func TestRegistrySweep(t *testing.T) {
	base := tinyBase(t)
	in := tinyInput(t)
	var index struct {
		Cases []struct {
			Preset       string          `json:"preset"`
			Dir          string          `json:"dir"`
			AddError     string          `json:"add_error"`
			ForwardError string          `json:"forward_error"`
			ReloadError  string          `json:"reload_error"`
			Weights      bool            `json:"weights"`
			Logits       json.RawMessage `json:"logits"`
		}
	}
	loadMethodsJSON(t, &index, "registry", "golden", "index.json")
	if len(index.Cases) != len(presets) {
		t.Fatalf("%d registry cases, %d presets in presets.json", len(index.Cases), len(presets))
	}
	for _, c := range index.Cases {
		t.Run(c.Preset, func(t *testing.T) {
			if c.AddError != "" {
				t.Skipf("the library cannot add %s to the tiny model: %s", c.Preset, c.AddError)
			}
			dir := methodsDir("registry", "adapters", c.Dir)
			want, refused := registryRefused[c.Preset]
			var err error
			if c.Weights {
				_, err = New(base).LoadDir(dir, LoadOptions{})
			} else {
				// Config only (large default weights, covered by other cases): parse it as LoadDir would.
				var mt struct{ Config json.RawMessage }
				b, rerr := os.ReadFile(filepath.Join(dir, ConfigFile))
				if rerr != nil {
					t.Fatal(rerr)
				}
				if jerr := json.Unmarshal(b, &mt); jerr != nil {
					t.Fatal(jerr)
				}
				raw, derr := decodePy(mt.Config)
				if derr != nil {
					t.Fatal(derr)
				}
				_, err = ParseConfig(raw, ConfigFile)
			}
			if refused {
				var ue *UnsupportedError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), "unsupported: ") || !strings.Contains(err.Error(), want) {
					t.Fatalf("want an unsupported error naming %q, got %v", want, err)
				}
				t.Logf("refused: %v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.Weights {
				t.Logf("config parses; weights not committed (see make_methods.py)")
				return
			}
			if c.Logits == nil {
				t.Skipf("no reference logits: %s%s", c.ForwardError, c.ReloadError)
			}
			m := New(base)
			name, err := m.LoadDir(dir, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := m.SetActive(name); err != nil {
				t.Fatal(err)
			}
			out, err := m.Forward(&State{}, in)
			if err != nil {
				t.Fatal(err)
			}
			checkLogits(t, c.Preset, out.Heads[0].Logits, flatLogits(t, c.Logits))
		})
	}
}
