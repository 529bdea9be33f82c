package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/adapterwasm/adapterwasm/internal/hubfetch"
)

func init() {
	register(&command{name: "fetch", summary: "download a Hugging Face model directory from a hub URL", run: runFetch})
}

func runFetch(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("fetch", stderr)
	base := fs.String("url", "", "base URL of the model files, e.g. https://huggingface.co/ORG/NAME/resolve/main (or file:///dir)")
	out := fs.String("out", "", "directory to write (required)")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *base == "" || *out == "" {
		return &usageError{msg: "--url and --out are required"}
	}
	f := &hubfetch.Fetcher{}
	if !*quiet {
		f.Progress = progressPrinter(stderr)
	}
	names, err := f.Dir(context.Background(), *base, *out, hubfetch.ModelFiles)
	if err != nil {
		return err
	}
	for _, n := range names {
		fmt.Fprintln(stdout, n)
	}
	return nil
}

// progressPrinter reports download progress on stderr, at most every 200 ms and at each
// file's end (used by fetch and by every --model/--adapter given as a hub id).
func progressPrinter(stderr io.Writer) func(name string, done, total int64) {
	var last time.Time
	return func(name string, done, total int64) {
		if time.Since(last) < 200*time.Millisecond && done != total {
			return
		}
		last = time.Now()
		if total > 0 {
			fmt.Fprintf(stderr, "\r%s: %d / %d bytes (%.0f%%)", name, done, total, 100*float64(done)/float64(total))
		} else {
			fmt.Fprintf(stderr, "\r%s: %d bytes", name, done)
		}
		if done == total {
			fmt.Fprintln(stderr)
		}
	}
}
