package main

import (
	"bufio"
	"io"

	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/kernels"
	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
)

func init() {
	register(&command{name: "embed", summary: "print a sentence embedding for each text", run: runEmbed})
}

func runEmbed(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("embed", stderr)
	modelDir := fs.String("model", "", "model: a directory in Hugging Face layout, or a hub id such as sentence-transformers/all-MiniLM-L6-v2 (required)")
	hf := addHubFlags(fs, stderr)
	jsonl := fs.Bool("jsonl", false, `read JSON lines {"text": …} instead of plain lines`)
	pooling := fs.String("pooling", "mean", "pooling: mean or cls")
	normalize := fs.Bool("normalize", false, "L2-normalize each embedding")
	batch := fs.Int("batch", 8, "texts per forward pass")
	relaxed := addRelaxedFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	kernels.RequestRelaxed(*relaxed)
	if *modelDir == "" {
		return &usageError{msg: "--model is required"}
	}
	if *pooling != "mean" && *pooling != "cls" {
		return &usageError{msg: "--pooling must be mean or cls"}
	}
	if err := checkBatch(*batch); err != nil {
		return err
	}
	dir, err := hf.model(*modelDir)
	if err != nil {
		return err
	}
	m, err := pretrained.LoadDir(dir)
	if err != nil {
		return err
	}
	st := &bert.State{}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	return newTextReader(stdin, *jsonl).batches(*batch, func(texts []string) error {
		embs, err := m.Embed(st, texts, pretrained.Pooling(*pooling), *normalize)
		if err != nil {
			return err
		}
		for _, e := range embs {
			if err := writeJSONLine(out, map[string]any{"embedding": e}); err != nil {
				return err
			}
		}
		return nil
	})
}
