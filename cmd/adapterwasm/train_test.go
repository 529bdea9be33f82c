package main

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
)

func writeLines(t *testing.T, lines ...string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "data.jsonl")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func toyData(n int) []string {
	r := rand.New(rand.NewSource(1))
	pos := []string{"good", "great", "love", "nice"}
	neg := []string{"bad", "awful", "hate", "poor"}
	var out []string
	for i := 0; i < n; i++ {
		l, ws := "pos", pos
		if r.Intn(2) == 0 {
			l, ws = "neg", neg
		}
		w := ws[r.Intn(len(ws))]
		b, _ := json.Marshal(map[string]string{"text": fmt.Sprintf("this is %s really %s", w, w), "label": l})
		out = append(out, string(b))
	}
	return out
}

// TestTrainCommand: train on the tiny model writes one JSON line per epoch (loss, dev accuracy,
// examples/s), saves an adapter directory that classify loads, and learns the toy task.
func TestTrainCommand(t *testing.T) {
	data := writeLines(t, toyData(64)...)
	out := filepath.Join(t.TempDir(), "toy")
	model := golden.Path("tiny", "model")
	code, stdout, stderr := runCLI(t, "", "train", "--model", model, "--data", data, "--eval", data,
		"--config", "seq_bn[reduction_factor=4]", "--epochs", "4", "--lr", "1e-2", "--batch", "8", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines: %s", len(lines), stdout)
	}
	var last struct {
		Epoch    int     `json:"epoch"`
		Loss     float64 `json:"loss"`
		Acc      float64 `json:"dev_accuracy"`
		Rate     float64 `json:"examples_per_second"`
		Examples int     `json:"examples"`
	}
	if err := json.Unmarshal([]byte(lines[3]), &last); err != nil {
		t.Fatal(err)
	}
	if last.Epoch != 4 || last.Examples != 64 || last.Rate <= 0 || last.Acc < 0.75 {
		t.Errorf("last epoch %+v", last)
	}
	if !strings.Contains(stderr, "epoch 4/4 [") || !strings.Contains(stderr, "saved toy") {
		t.Errorf("stderr: %s", stderr)
	}
	for _, f := range []string{"adapter_config.json", "pytorch_adapter.bin", "head_config.json", "pytorch_model_head.bin"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	code, stdout, stderr = runCLI(t, "this is great really great\n", "classify", "--model", model, "--adapter", out)
	if code != 0 || !strings.Contains(stdout, `"label":"pos"`) {
		t.Errorf("classify: exit %d %s %s", code, stdout, stderr)
	}
	// safetensors and a multi-label head
	ml := writeLines(t, `{"text": "red and blue", "labels": ["red", "blue"]}`, `{"text": "blue", "labels": ["blue"]}`, `{"text": "nothing", "labels": []}`)
	out2 := filepath.Join(t.TempDir(), "colors")
	code, _, stderr = runCLI(t, "", "train", "--model", model, "--data", ml, "--config", "lora", "--head", "multilabel_classification",
		"--epochs", "1", "--batch", "2", "--format", "safetensors", "--out", out2, "--quiet", "--schedule", "linear")
	if code != 0 {
		t.Fatalf("multilabel: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(out2, "adapter.safetensors")); err != nil {
		t.Error(err)
	}
}

// TestTrainCommandErrors: bad command lines exit 2, bad data 1, with a message and no trace.
func TestTrainCommandErrors(t *testing.T) {
	model := golden.Path("tiny", "model")
	good := writeLines(t, toyData(16)...)
	out := filepath.Join(t.TempDir(), "x")
	var longLines []string
	for i := 0; i < 64; i++ {
		longLines = append(longLines, fmt.Sprintf(`{"text": "%s", "label": "%d"}`, strings.Repeat("word ", 80), i%2))
	}
	long := writeLines(t, longLines...)
	var manyLines []string
	for i := 0; i < 2000; i++ {
		manyLines = append(manyLines, fmt.Sprintf(`{"text": "a", "labels": ["l%d"]}`, i))
	}
	manyLabels := writeLines(t, manyLines...)
	for _, c := range []struct {
		code int
		args []string
		msg  string
	}{
		{2, []string{"--data", good, "--out", out}, "--model is required"},
		{2, []string{"--model", model, "--out", out}, "--data is required"},
		{2, []string{"--model", model, "--data", good}, "--out is required"},
		{2, []string{"--model", model, "--data", good, "--out", out, "--batch", "0"}, "--batch"},
		{2, []string{"--model", model, "--data", good, "--out", out, "--lr", "-1"}, "--lr"},
		{2, []string{"--model", model, "--data", good, "--out", out, "--head", "tagging"}, "--head"},
		{2, []string{"--model", model, "--data", good, "--out", out, "--schedule", "cosine"}, "--schedule"},
		{1, []string{"--model", model, "--data", writeLines(t, `{"text": 3, "label": "a"}`), "--out", out}, "invalid JSON"},
		{1, []string{"--model", model, "--data", writeLines(t, `{"label": "a"}`), "--out", out}, `missing "text"`},
		{1, []string{"--model", model, "--data", writeLines(t, `{"text": "a"}`), "--out", out}, `missing "label"`},
		{1, []string{"--model", model, "--data", writeLines(t, `{"text": "a", "label": {"x": 1}}`), "--out", out}, "a label is"},
		{1, []string{"--model", model, "--data", writeLines(t, `{"text": "a", "label": "x"}`), "--out", out}, "at least 2 labels"},
		{1, []string{"--model", model, "--data", manyLabels, "--out", out, "--head", "multilabel_classification"}, "2000 labels; a trained head may have at most 1024"},
		{1, []string{"--model", model, "--data", good, "--eval", writeLines(t, `{"text": "a", "label": "zzz"}`), "--out", out}, "not one of"},
		{1, []string{"--model", model, "--data", good, "--out", out, "--config", "prefix_tuning"}, "unsupported"},
		{1, []string{"--model", model, "--data", long, "--out", out, "--max-activation-mib", "1", "--batch", "64"}, "MiB of activations"},
		{1, []string{"--model", model, "--data", writeLines(t, strings.Repeat("[", 100000)), "--out", out}, "nest"},
	} {
		code, _, stderr := runCLI(t, "", append([]string{"train"}, c.args...)...)
		if code != c.code || !strings.Contains(stderr, c.msg) || strings.Contains(stderr, "goroutine") {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", c.args, code, stderr, c.code, c.msg)
		}
	}
}
