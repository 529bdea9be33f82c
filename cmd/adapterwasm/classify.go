package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/adapterwasm/adapterwasm/adapters"
	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
)

func init() {
	register(&command{name: "classify", summary: "label each text with AdapterHub adapters and their heads", run: runClassify})
}

// classify output, one JSON object per input line: see adapters.Result.
func runClassify(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("classify", stderr)
	modelDir := fs.String("model", "", "base model: a directory in Hugging Face layout, or a hub id such as sentence-transformers/all-MiniLM-L6-v2 (required)")
	var adapterDirs multiFlag
	fs.Var(&adapterDirs, "adapter", "AdapterHub adapter or fusion directory, or an adapter's hub id, as [NAME=]DIR or [NAME=]ID[@REVISION]; repeatable (fusions after their adapters)")
	hf := addHubFlags(fs, stderr)
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
	if err := checkBatch(*batch); err != nil {
		return err
	}
	if err := checkMaxLength(*maxLen); err != nil {
		return err
	}
	dir, err := hf.model(*modelDir)
	if err != nil {
		return err
	}
	for i, spec := range adapterDirs {
		if adapterDirs[i], err = hf.adapter(spec); err != nil {
			return err
		}
	}
	base, err := pretrained.LoadDir(dir)
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
	// BatchSplit assigns texts by their place in the batch: read exactly as many as its
	// batch_sizes add up to per pass (bounded before anything is allocated from them).
	if bs := adapters.FindBlock(active, adapters.BatchSplit); bs != nil {
		n = 0
		for _, s := range bs.Sizes {
			n += s
			if s < 0 || n > adapters.MaxBatchSplit {
				return fmt.Errorf("setup %s: batch_sizes add up to more than %d texts", active, adapters.MaxBatchSplit)
			}
		}
	}
	st := &adapters.State{}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	return newTextReader(stdin, *jsonl).batches(n, func(texts []string) error {
		results, err := m.Classify(st, base, texts, *maxLen)
		if err != nil {
			return err
		}
		for _, r := range results {
			if err := writeJSONLine(out, r); err != nil {
				return err
			}
		}
		return nil
	})
}
