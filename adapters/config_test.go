package adapters

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
)

// Config ids printed by the reference library (adapters 1.3.0, utils.get_adapter_config_hash)
// for every preset of ADAPTER_CONFIG_MAP, three config strings and the tiny fixtures.
var presetHashes = map[string]string{
	"pfeiffer": "9076f36a74755ac4", "houlsby": "b1017368d7a97b11", "parallel": "211b85d66ae909db",
	"scaled_parallel": "4197b24ec21c92f8", "pfeiffer+inv": "9ed5b5a29de19b71", "houlsby+inv": "bcdbfdc759d7abf1",
	"seq_bn": "9076f36a74755ac4", "double_seq_bn": "b1017368d7a97b11", "par_bn": "211b85d66ae909db",
	"scaled_par_bn": "4197b24ec21c92f8", "seq_bn_inv": "9ed5b5a29de19b71", "double_seq_bn_inv": "bcdbfdc759d7abf1",
	"compacter++": "cfa13994accfb5f4", "compacter": "934efc0c1022a56f", "prefix_tuning": "648bf22f5afeaaa6",
	"prefix_tuning_flat": "d61d9a6e9c3974ea", "prompt_tuning": "8e35d5049bb12364", "mtl_lora": "b37172df6259ff89",
	"lora": "625403edad0bf919", "ia3": "1ebb5af107e576c0", "vera": "2be4e8738bf1b672", "dora": "045575c920686296",
	"dvora": "54bac59257d09af0", "loreft": "141e29e6c21f7261", "noreft": "df69f184fdb72464", "direft": "df69f184fdb72464",
	"mam": "3a07cc7e2d6b7cbd", "unipelt": "99835abd0a66a4be",
	"lora[r=4]|seq_bn": "cec7fb0ef4726e58",
	`seq_bn[reduction_factor=8, non_linearity="gelu"]`: "d252295ac7151db2",
	`lora[attn_matrices=["q","k"], alpha=16]`:          "cfee5ca1a2347b9d",
}

var tinyHashes = map[string]string{
	"seq_bn": "44f81e70d866100d", "seq_bn_b": "d252295ac7151db2", "double_seq_bn": "97e71e2819a2a23c",
	"par_bn": "5e81db3d0f199b11", "bn_custom": "9b429cf408cf311e", "lora_qv": "4fc6f5b8f89f31a7",
	"lora_full": "978dc30464d3c041", "ia3": "1ebb5af107e576c0", "prefix": "b6379839289a8a7c",
}

func TestConfigHashPresetsAndStrings(t *testing.T) {
	for s, want := range presetHashes {
		m, err := resolveConfigString(s)
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		if got := ConfigHash(m); got != want {
			t.Errorf("%s: config id %s, want %s", s, got, want)
		}
	}
}

func TestConfigHashTinyDirs(t *testing.T) {
	for name, want := range tinyHashes {
		b, err := os.ReadFile(golden.Path("tiny", "adapters", name, ConfigFile))
		if err != nil {
			t.Fatal(err)
		}
		var top struct{ Config json.RawMessage }
		if err := json.Unmarshal(b, &top); err != nil {
			t.Fatal(err)
		}
		raw, err := decodePy(top.Config)
		if err != nil {
			t.Fatal(err)
		}
		c, err := ParseConfig(raw, name)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.ConfigID(); got != want {
			t.Errorf("%s: config id %s, want %s", name, got, want)
		}
	}
}

func TestConfigStringMethods(t *testing.T) {
	for s, want := range map[string]string{
		"seq_bn": "bottleneck", "lora[r=4]|seq_bn": "bottleneck+lora", "ia3": "ia3", "mam": "bottleneck+prefix_tuning",
		"unipelt":       "bottleneck+lora+prefix_tuning",
		"prompt_tuning": "prompt_tuning", "loreft": "reft", "noreft": "reft", "direft": "reft", "compacter": "bottleneck", "compacter++": "bottleneck",
		"vera": "vera", "dora": "dora", "dvora": "dvora", "vera[vera_d=1,vera_b=0]": "lora", // Vera only when vera_d/vera_b is a float (isinstance)
	} {
		c, err := ParseConfig(s, "x")
		if want == "" {
			var ue *UnsupportedError
			if !errors.As(err, &ue) {
				t.Errorf("%s: err = %v, want *UnsupportedError", s, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		if c.Method() != want {
			t.Errorf("%s: method %s, want %s", s, c.Method(), want)
		}
	}
	for _, bad := range []string{"nope", "seq_bn[reduction_factor=]", "seq_bn[nokey=1]", "seq_bn[r=4"} {
		if _, err := ParseConfig(bad, "x"); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestPyFloat(t *testing.T) {
	for f, want := range map[float64]string{1: "1.0", 0.0001: "0.0001", 1e-5: "1e-05", 4: "4.0", 0.3: "0.3",
		1e16: "1e+16", 123456789012345.6: "123456789012345.6", -2.5: "-2.5", 1.5e-7: "1.5e-07"} {
		if got := pyFloat(f); got != want {
			t.Errorf("pyFloat(%v) = %s, want %s", f, got, want)
		}
	}
}

// TestIndexExtraDirs: config ids of unions, per-layer reduction factors and static-head dirs, as
// the reference library computes them from the saved configs.
func TestIndexExtraDirs(t *testing.T) {
	idx, err := BuildIndex(".", "testdata/extra/adapters_st")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"mam": "2fe34c8531bca8fa", "union": "fd0ae2922c4fdf8e", "static_cls": "26cd1b10db746518",
		"bn_channel": "066ab84e6a0160cf", "legacy_gelu": "d252295ac7151db2"}
	seen := 0
	for _, e := range idx.Adapters {
		if w, ok := want[e.Name]; ok {
			seen++
			if e.ConfigID != w {
				t.Errorf("%s: config id %s, want %s", e.Name, e.ConfigID, w)
			}
		}
		if e.Name == "static_tag" && (e.Task != HeadTagging || len(e.Labels) != 5) {
			t.Errorf("static_tag: task %q labels %v", e.Task, e.Labels)
		}
	}
	if seen != len(want) {
		t.Errorf("found %d of %d entries", seen, len(want))
	}
}

// TestIndexRefusesDuplicateNames: two directories saved under one name make BuildIndex fail
// with a FormatError naming both, since every reader resolves a name to one entry.
func TestIndexRefusesDuplicateNames(t *testing.T) {
	dir := t.TempDir()
	src := "testdata/extra/adapters_st/mam"
	for _, d := range []string{"a", "b"} {
		if err := os.CopyFS(filepath.Join(dir, d), os.DirFS(src)); err != nil {
			t.Fatal(err)
		}
	}
	_, err := BuildIndex(dir, dir)
	var fe *FormatError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), `"mam"`) || !strings.Contains(err.Error(), "a") {
		t.Fatalf("BuildIndex over two copies of one adapter: %v, want a FormatError naming the shared name", err)
	}
	if _, err := BuildIndex(dir, filepath.Join(dir, "a")); err != nil {
		t.Fatalf("one copy: %v", err)
	}
}
