package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/adapterwasm/adapterwasm/adapters"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
)

func init() {
	register(&command{name: "classify", summary: "label each text with AdapterHub adapters and their heads", run: runClassify})
}

// maxBatchSplit bounds the texts one BatchSplit forward pass reads (the sum of its batch_sizes).
const maxBatchSplit = 4096

// classify output, one JSON object per input line:
//
//	one classification head:  {"label": …, "score": p, "scores": {label: p}, "logits": […]}
//	                          (multilabel_classification adds "labels": every label with p ≥ 0.5;
//	                          its scores are per-label sigmoids, otherwise a softmax)
//	one tagging head:         {"words": [{"word","start","end","label","score"}],
//	                           "tokens": [{"token","word","label","score"}]}
//	Parallel(a,b,…):          {"heads": {"a": {…as above…}, "b": {…}}}, keyed by head name
//	BatchSplit(a,b,…):        the result of the head whose slice holds the text, plus "head": name
func runClassify(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("classify", stderr)
	modelDir := fs.String("model", "", "base model directory in Hugging Face layout (required)")
	var adapterDirs multiFlag
	fs.Var(&adapterDirs, "adapter", "AdapterHub adapter or fusion directory, as [NAME=]DIR; repeatable (fusions after their adapters)")
	setup := fs.String("setup", "", `active setup: an adapter name or e.g. "Stack(a,b)", "Fuse(a,b)", "Parallel(a,b)" (default: the only adapter)`)
	head := fs.String("head", "", "use this head instead of the one the setup implies")
	jsonl := fs.Bool("jsonl", false, `read JSON lines {"text": …} instead of plain lines`)
	batch := fs.Int("batch", 8, "texts per forward pass (BatchSplit: the sum of its batch_sizes)")
	maxLen := fs.Int("max-length", 0, "truncate texts to this many tokens (default: the model's)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *modelDir == "" {
		return &usageError{msg: "--model is required"}
	}
	if len(adapterDirs) == 0 {
		return &usageError{msg: "at least one --adapter is required"}
	}
	if *batch < 1 {
		return &usageError{msg: "--batch must be at least 1"}
	}
	base, err := pretrained.LoadDir(*modelDir)
	if err != nil {
		return err
	}
	m := adapters.New(base.Encoder)
	var loaded []string
	// Adapters first, then fusions, which need their adapters.
	for _, pass := range []bool{false, true} {
		for _, spec := range adapterDirs {
			name, dir := "", spec
			if i := strings.IndexByte(spec, '='); i > 0 {
				name, dir = spec[:i], spec[i+1:]
			}
			_, statErr := os.Stat(filepath.Join(dir, adapters.FusionConfigFile))
			if (statErr == nil) != pass {
				continue
			}
			got, err := m.LoadDir(dir, adapters.LoadOptions{Name: name})
			if err != nil {
				return err
			}
			if !pass {
				loaded = append(loaded, got)
			}
		}
	}
	expr := *setup
	if expr == "" {
		if len(loaded) != 1 {
			return &usageError{msg: fmt.Sprintf("%d adapters loaded (%s): pass --setup", len(loaded), strings.Join(loaded, ", "))}
		}
		expr = loaded[0]
	}
	if err := m.SetActive(expr); err != nil {
		return err
	}
	if *head != "" {
		if err := m.SetHead(*head); err != nil {
			return err
		}
	}
	active := m.Active()
	n := *batch
	// Sizes are bounded before anything is allocated from them: batch_sizes=[1e12] or
	// splits=[1e9] would otherwise ask for terabytes or gigabytes.
	if bs := findBlock(active, adapters.BatchSplit); bs != nil {
		n = 0
		for _, s := range bs.Sizes {
			n += s
			if s < 0 || n > maxBatchSplit {
				return fmt.Errorf("setup %s: batch_sizes add up to more than %d texts", active, maxBatchSplit)
			}
		}
	}
	padTo := 0
	if sp := findBlock(active, adapters.Split); sp != nil {
		for _, s := range sp.Sizes {
			padTo += s
			if s < 0 || padTo > base.Config.MaxPositionEmbeddings {
				return fmt.Errorf("setup %s: splits add up to more than the model's %d positions", active, base.Config.MaxPositionEmbeddings)
			}
		}
	}
	st := &adapters.State{}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	return newTextReader(stdin, *jsonl).batches(n, func(texts []string) error {
		limit := *maxLen
		if padTo > 0 && (limit == 0 || limit > padTo) {
			limit = padTo
		}
		in, encs := base.Tokenize(texts, limit)
		if padTo > 0 {
			in = padInput(in, padTo, base.Tokenizer.PadID())
		}
		o, err := m.Forward(st, in)
		if err != nil {
			return err
		}
		if len(o.Heads) == 0 {
			return fmt.Errorf("setup %s has no prediction head: load a directory with head_config.json or pass --head", active)
		}
		results := make([]map[string]any, len(texts))
		for i := range results {
			results[i] = map[string]any{}
		}
		for _, h := range o.Heads {
			for i := 0; i < h.NSeq; i++ {
				t := h.Seq0 + i
				var r map[string]any
				k := h.Head.NumLabels()
				if h.Head.Type == adapters.HeadTagging {
					rows := h.Logits[i*in.T*k : (i+1)*in.T*k]
					words, toks := h.Head.PredictTokens(rows, &encs[t], texts[t])
					r = map[string]any{"words": words, "tokens": toks}
				} else {
					p := h.Head.Predict(h.Logits[i*k : (i+1)*k])
					r = map[string]any{"label": p.Label, "score": p.Score, "scores": p.Scores, "logits": p.Logits}
					if p.Labels != nil || h.Head.Type == adapters.HeadMultiLabelClassification {
						r["labels"] = p.Labels
					}
				}
				switch {
				case len(o.Heads) > 1 && o.Replicas > 1:
					hs, _ := results[t]["heads"].(map[string]any)
					if hs == nil {
						hs = map[string]any{}
						results[t]["heads"] = hs
					}
					hs[h.Head.Name] = r
				case len(o.Heads) > 1:
					r["head"] = h.Head.Name
					results[t] = r
				default:
					results[t] = r
				}
			}
		}
		for _, r := range results {
			if err := writeJSONLine(out, r); err != nil {
				return err
			}
		}
		return nil
	})
}

// findBlock returns the first block of kind k in b (depth first), or nil.
func findBlock(b *adapters.Block, k adapters.Kind) *adapters.Block {
	if b == nil {
		return nil
	}
	if b.Kind == k {
		return b
	}
	for _, c := range b.Children {
		if f := findBlock(c, k); f != nil {
			return f
		}
	}
	return nil
}

// padInput pads every sequence of in to T tokens (Split needs the exact length its splits sum to).
func padInput(in bert.Input, T int, pad int32) bert.Input {
	if in.T >= T {
		return in
	}
	out := bert.Input{B: in.B, T: T, IDs: make([]int32, in.B*T), TypeIDs: make([]int32, in.B*T), AttentionMask: make([]int32, in.B*T)}
	for b := 0; b < in.B; b++ {
		for t := 0; t < T; t++ {
			r := b*T + t
			if t < in.T {
				s := b*in.T + t
				out.IDs[r] = in.IDs[s]
				if in.TypeIDs != nil {
					out.TypeIDs[r] = in.TypeIDs[s]
				}
				if in.AttentionMask != nil {
					out.AttentionMask[r] = in.AttentionMask[s]
				} else {
					out.AttentionMask[r] = 1
				}
			} else {
				out.IDs[r] = pad
			}
		}
	}
	return out
}
