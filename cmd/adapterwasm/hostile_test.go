package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/adapterwasm/adapterwasm/adapters"
	"github.com/adapterwasm/adapterwasm/internal/golden"
)

// TestClassifyHostileInputs: a 10 MB line is truncated and answers as its first 4 KB; a line over
// 16 MiB, setups whose sizes would allocate without bound, and hostile adapter files end the run
// with exit 1 and a message naming the problem, never a panic or an out-of-memory.
func TestClassifyHostileInputs(t *testing.T) {
	model := golden.Path("tiny", "model")
	seq := tinyAdapter("seq_bn")
	huge := strings.Repeat("I love this movie, it is great! ", (10<<20)/32)
	start := time.Now()
	code, out, errs := runCLI(t, huge+"\n"+huge[:4096]+"\n", "classify", "--model", model, "--adapter", seq)
	if code != 0 {
		t.Fatalf("10 MB line: exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// The same answer; only "input" tells them apart: the 10 MB line is counted up to
	// adapters.MaxCountedTokens tokens, its first 4 KB to the end (9 tokens per repeat).
	var got [2]struct {
		Input *adapters.InputStats `json:"input"`
	}
	var rest [2]map[string]any
	for i := range min(len(lines), 2) {
		json.Unmarshal([]byte(lines[i]), &got[i])
		json.Unmarshal([]byte(lines[i]), &rest[i])
		delete(rest[i], "input")
	}
	if len(lines) != 2 || !reflect.DeepEqual(rest[0], rest[1]) {
		t.Errorf("10 MB line and its first 4 KB differ:\n%.300s\n%.300s", lines[0], lines[len(lines)-1])
	}
	for i, want := range []adapters.InputStats{{Tokens: adapters.MaxCountedTokens + 2, Truncated: true}, {Tokens: 9*4096/32 + 2, Truncated: true}} {
		if got[i].Input == nil || *got[i].Input != want {
			t.Errorf("line %d: input %+v, want %+v", i, got[i].Input, want)
		}
	}
	t.Logf("10 MB line classified in %v", time.Since(start))

	empty := t.TempDir()
	for _, f := range []string{"adapter_config.json", "head_config.json", "model_head.safetensors"} {
		b, err := os.ReadFile(filepath.Join(golden.Path("tiny", "adapters_st/seq_bn"), f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(empty, f), b, 0o644)
	}
	deep := t.TempDir()
	os.WriteFile(filepath.Join(deep, "adapter_config.json"), []byte(strings.Repeat("[", 1e6)+strings.Repeat("]", 1e6)), 0o644)
	os.WriteFile(filepath.Join(empty, "adapter.safetensors"), []byte("\x08\x00\x00\x00\x00\x00\x00\x00{}      "), 0o644)

	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"line over 16 MiB", strings.Repeat("a", 16<<20+1) + "\n", []string{"--adapter", seq}, "longer than 16777216 bytes"},
		{"splits of 1e9 tokens", "x\n", []string{"--adapter", seq, "--adapter", tinyAdapter("seq_bn_b"), "--setup", "Split(seq_bn,seq_bn_b,splits=[1000000000,1])"}, "splits add up to more than the model's 64 positions"},
		{"batch_sizes of 1e12 texts", "x\n", []string{"--adapter", seq, "--adapter", tinyAdapter("seq_bn_b"), "--setup", "BatchSplit(seq_bn,seq_bn_b,batch_sizes=[1000000000000,1])"}, "batch_sizes add up to more than 4096 texts"},
		{"weights file without tensors", "x\n", []string{"--adapter", empty}, "adapter.safetensors: missing tensor"},
		{"config nested 1e6 deep", "x\n", []string{"--adapter", deep}, "adapter_config.json: JSON nests deeper than 64 levels"},
		{"invalid JSON line", "{\"text\":\n", []string{"--adapter", seq, "--jsonl"}, "stdin line 1: invalid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errs := runCLI(t, tc.stdin, append([]string{"classify", "--model", model}, tc.args...)...)
			if code != 1 || !strings.Contains(errs, tc.want) || strings.Contains(errs, "panic") {
				t.Errorf("exit %d, stderr %.500q; want exit 1 and %q", code, errs, tc.want)
			}
		})
	}
}

// TestDeepJSONLine: a --jsonl input line nesting deeper than 64 levels is refused with the line
// number, before it is decoded.
func TestDeepJSONLine(t *testing.T) {
	in := `{"text":"ok"}` + "\n" + `{"text":"x","y":` + strings.Repeat("[", 9990) + strings.Repeat("]", 9990) + "}\n"
	tr := newTextReader(strings.NewReader(in), true)
	if s, err := tr.next(); s != "ok" || err != nil {
		t.Fatalf("line 1: %q, %v", s, err)
	}
	if _, err := tr.next(); err == nil || err.Error() != "stdin line 2: JSON nests deeper than 64 levels (at byte 79)" {
		t.Fatalf("line 2: %v", err)
	}
}
