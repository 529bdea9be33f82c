package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
)

func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestTokenizeMatchesReference(t *testing.T) {
	var g golden.Base
	golden.Load(t, &g, "tiny", "golden", "base.json")
	var in strings.Builder
	for _, s := range g.Sentences {
		b, _ := json.Marshal(map[string]string{"text": s})
		in.Write(b)
		in.WriteByte('\n')
	}
	code, out, errs := runCLI(t, in.String(), "tokenize", "--jsonl", "--max-length", "48", "--model", golden.Path("tiny", "model"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(g.Sentences) {
		t.Fatalf("%d lines for %d texts", len(lines), len(g.Sentences))
	}
	for i, l := range lines {
		var rec struct {
			InputIDs []int32  `json:"input_ids"`
			Tokens   []string `json:"tokens"`
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatal(err)
		}
		if strings.Join(rec.Tokens, " ") != strings.Join(g.Tokens[i], " ") {
			t.Errorf("text %d: tokens %q, reference %q", i, rec.Tokens, g.Tokens[i])
		}
	}
}

func TestEmbedNormalizes(t *testing.T) {
	code, out, errs := runCLI(t, "hello world\nsecond line\n", "embed", "--normalize", "--model", golden.Path("tiny", "model"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var rec struct{ Embedding []float64 }
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatal(err)
		}
		var ss float64
		for _, v := range rec.Embedding {
			ss += v * v
		}
		if len(rec.Embedding) != 32 || ss < 0.9999 || ss > 1.0001 {
			t.Errorf("embedding of length %d and squared norm %v", len(rec.Embedding), ss)
		}
	}
}

func TestErrorsExitCleanly(t *testing.T) {
	tiny := golden.Path("tiny", "model")
	cases := []struct {
		name  string
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"no command", "", nil, 2, "usage"},
		{"unknown command", "", []string{"frobnicate"}, 2, "unknown command"},
		{"missing model flag", "", []string{"embed"}, 2, "--model is required"},
		{"bad flag", "", []string{"embed", "--nope"}, 2, "not defined"},
		{"bad pooling", "", []string{"embed", "--model", tiny, "--pooling", "max"}, 2, "pooling"},
		{"missing model dir", "x\n", []string{"embed", "--model", "/nonexistent"}, 1, "config.json"},
		{"bad jsonl", "{not json\n", []string{"tokenize", "--jsonl", "--model", tiny}, 1, "line 1: invalid JSON"},
		{"batch 10^12", "x\n", []string{"embed", "--model", tiny, "--batch", "1000000000000"}, 2, "--batch must be from 1 to 4096"},
		{"batch 0", "x\n", []string{"embed", "--model", tiny, "--batch", "0"}, 2, "--batch must be from 1 to 4096"},
		{"batch 1e12", "x\n", []string{"embed", "--model", tiny, "--batch", "1e12"}, 2, `invalid value "1e12" for flag -batch`},
		{"classify batch 10^12", "x\n", []string{"classify", "--model", tiny, "--adapter", golden.Path("tiny", "adapters_st", "seq_bn"), "--batch", "1000000000000"}, 2, "--batch must be from 1 to 4096"},
		{"classify max-length -1", "x\n", []string{"classify", "--model", tiny, "--adapter", golden.Path("tiny", "adapters_st", "seq_bn"), "--max-length", "-1"}, 2, "--max-length must be from 0 (the model's) to 65536"},
		{"tokenize max-length -1", "x\n", []string{"tokenize", "--model", tiny, "--max-length", "-1"}, 2, "--max-length must be from 0 (the model's) to 65536"},
		{"tokenize max-length 2^40", "x\n", []string{"tokenize", "--model", tiny, "--max-length", "1099511627776"}, 2, "--max-length must be from 0 (the model's) to 65536"},
		{"jsonl without text", `{"txt":"a"}` + "\n", []string{"tokenize", "--jsonl", "--model", tiny}, 1, `missing "text"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errs := runCLI(t, c.stdin, c.args...)
			if code != c.code || !strings.Contains(errs, c.msg) {
				t.Errorf("exit %d, stderr %q; want exit %d containing %q", code, errs, c.code, c.msg)
			}
			if strings.Contains(errs, "goroutine") {
				t.Errorf("panic trace on stderr: %s", errs)
			}
		})
	}
}
