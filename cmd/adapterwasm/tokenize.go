package main

import (
	"bufio"
	"io"

	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
)

func init() {
	register(&command{name: "tokenize", summary: "print token ids and tokens of each text", run: runTokenize})
}

func runTokenize(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("tokenize", stderr)
	modelDir := fs.String("model", "", "model: a directory in Hugging Face layout, or a hub id such as sentence-transformers/all-MiniLM-L6-v2 (required)")
	hf := addHubFlags(fs, stderr)
	jsonl := fs.Bool("jsonl", false, `read JSON lines {"text": …} instead of plain lines`)
	maxLen := fs.Int("max-length", 0, "truncate to this many tokens (default: the model's)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *modelDir == "" {
		return &usageError{msg: "--model is required"}
	}
	if err := checkMaxLength(*maxLen); err != nil {
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
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	return newTextReader(stdin, *jsonl).batches(1, func(texts []string) error {
		_, encs := m.Tokenize(texts, *maxLen)
		for _, e := range encs {
			if err := writeJSONLine(out, map[string]any{"input_ids": e.IDs, "tokens": e.Tokens}); err != nil {
				return err
			}
		}
		return nil
	})
}
