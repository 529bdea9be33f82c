package main

import (
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"

	"github.com/adapterwasm/adapterwasm/adapters"
)

func init() {
	register(&command{name: "index", summary: "write index.json describing AdapterHub adapter directories", run: runIndex})
}

// runIndex: adapterwasm index [--out FILE] DIR... finds every adapter and fusion directory under
// the DIRs and writes the registry index (format: adapters/README.md). Paths in the index are
// relative to the directory of --out (for "-", the current directory).
func runIndex(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("index", stderr)
	outFile := fs.String("out", "index.json", `output file ("-" for stdout)`)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{msg: err.Error()}
	}
	dirs := fs.Args()
	if len(dirs) == 0 {
		return &usageError{msg: "usage: adapterwasm index [--out FILE] DIR..."}
	}
	base := "."
	if *outFile != "-" {
		base = filepath.Dir(*outFile)
	}
	idx, err := adapters.BuildIndex(base, dirs...)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if *outFile == "-" {
		_, err = stdout.Write(b)
		return err
	}
	tmp := *outFile + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, *outFile)
}
