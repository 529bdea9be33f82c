package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/adapterwasm/adapterwasm/adapters"
	"github.com/adapterwasm/adapterwasm/hub"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
)

func init() {
	register(&command{name: "list", summary: "list adapters on the hub, AdapterHub's index and a static index.json", run: runList})
}

// maxIndexBytes bounds a static index.json read by list.
const maxIndexBytes = 64 << 20

// runList prints one JSON line per adapter: hub.AdapterInfo (source, id, model_name, task,
// subtask, username, method, size, sha1_checksum, …), as adapters' list_adapters(source,
// model_name) selects them: "ah" (AdapterHub's all.json) then "hf" (the hub's model API), both
// by default, and the entries of --index (source "index") first when given; --runnable keeps
// those for architectures this runtime runs.
func runList(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("list", stderr)
	source := fs.String("source", "", `"hf" (the hub's model API), "ah" (AdapterHub's index) or "index" (--index only); default: all`)
	modelName := fs.String("model-name", "", "only adapters trained for this model (exact match, as list_adapters)")
	indexFile := fs.String("index", "", "also list this static index.json (written by adapterwasm index)")
	runnable := fs.Bool("runnable", false, "only adapters for architectures this runtime runs ("+strings.Join(bert.ModelTypes(), ", ")+
		"): by the model_type an entry records, else by its model_name (bert-…, roberta-…, distilroberta-…, xlm-roberta-…, distilbert-…); entries that say neither are left out")
	ahURL := fs.String("ah-url", "", "AdapterHub index base URL (default "+hub.DefaultAdapterHubURL+")")
	hf := addHubSourceFlags(fs, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch *source {
	case "", "hf", "ah":
	case "index":
		if *indexFile == "" {
			return &usageError{msg: "--source index needs --index FILE"}
		}
	default:
		return &usageError{msg: `--source must be "hf", "ah" or "index"`}
	}
	var out []hub.AdapterInfo
	if *indexFile != "" && (*source == "" || *source == "index") {
		got, err := readIndexListing(*indexFile, *modelName)
		if err != nil {
			return err
		}
		out = append(out, got...)
	}
	if *source != "index" {
		l := &hub.Lister{Client: hf.client(), AdapterHubURL: *ahURL}
		got, err := l.List(context.Background(), *source, *modelName)
		if err != nil {
			return err
		}
		out = append(out, got...)
	}
	if *runnable {
		kept := out[:0]
		for _, a := range out {
			if runnableEntry(a) {
				kept = append(kept, a)
			}
		}
		out = kept
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	for _, a := range out {
		if err := writeJSONLine(w, a); err != nil {
			return err
		}
	}
	return nil
}

// runnableEntry reports whether a listed adapter is for an architecture this runtime runs: the
// model_type the entry records (index.json), else the one its model_name says
// (bert.ModelTypeOfName). The Python list_adapters filters by model_name only; this is
// adapterwasm's --runnable, mirrored by the JS package's listAdapters({runnable: true}).
func runnableEntry(a hub.AdapterInfo) bool {
	if a.ModelType != "" {
		return bert.Runs(a.ModelType)
	}
	return bert.Runs(bert.ModelTypeOfName(a.ModelName))
}

// readIndexListing lists a static index.json (adapters.Index) as hub.AdapterInfo entries.
func readIndexListing(file, modelName string) ([]hub.AdapterInfo, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxIndexBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxIndexBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", file, maxIndexBytes)
	}
	var idx adapters.Index
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("%s: not an adapterwasm index.json", file)
	}
	var out []hub.AdapterInfo
	for _, e := range idx.Adapters {
		if modelName != "" && e.ModelName != modelName {
			continue
		}
		out = append(out, hub.AdapterInfo{Source: "index", ID: e.ID, ModelName: e.ModelName, ModelType: e.ModelType, Task: e.Task,
			Method: e.Method, Size: e.Size, Config: e.Config})
	}
	return out, nil
}
