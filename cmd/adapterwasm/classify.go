package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/adapterwasm/adapterwasm/adapters"
	"github.com/adapterwasm/adapterwasm/runtime/kernels"
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
	fs.Var(&adapterDirs, "adapter", "AdapterHub adapter or fusion directory, or an adapter's hub id, as [NAME=]DIR, [NAME=]ID[@REVISION], [NAME=]hf:ID[@REVISION] or [NAME=]ah:IDENTIFIER (AdapterHub, e.g. ah:sentiment/imdb@ukp); repeatable (fusions after their adapters)")
	hf := addHubFlags(fs, stderr)
	hf.addAHFlags(fs)
	setup := fs.String("setup", "", `active setup: an adapter name or e.g. "Stack(a,b)", "Fuse(a,b)", "Parallel(a,b)" (default: the only adapter)`)
	head := fs.String("head", "", "use this head instead of the one the setup implies")
	jsonl := fs.Bool("jsonl", false, `read JSON lines {"text": …} instead of plain lines (with a MultiTask setup, {"text": …, "task_id": 0 | "name"})`)
	taskID := fs.String("task-id", "", `MultiTask: the task of every text without its own "task_id": a child's index (0-based) or adapter name`)
	batch := fs.Int("batch", 8, "texts per forward pass (BatchSplit: the sum of its batch_sizes)")
	maxLen := fs.Int("max-length", 0, "truncate texts to this many tokens (default: the model's)")
	relaxed := addRelaxedFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	kernels.RequestRelaxed(*relaxed)
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
	var defTask json.RawMessage
	if *taskID != "" {
		if _, err := strconv.Atoi(*taskID); err == nil {
			defTask = json.RawMessage(*taskID)
		} else {
			defTask, _ = json.Marshal(*taskID)
		}
	}
	st := &adapters.State{}
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	tr := newTextReader(stdin, *jsonl)
	multi := adapters.FindBlock(active, adapters.MultiTask) != nil
	seen := 0
	return tr.batches(n, func(texts []string) error {
		var ids []int
		if multi {
			var err error
			if ids, err = taskIDs(m, tr.tasks, defTask, seen); err != nil {
				return err
			}
		}
		seen += len(texts)
		results, err := m.ClassifyTasks(st, base, texts, ids, *maxLen)
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

// taskIDs turns the "task_id" of each text (or the --task-id default) into MultiTask task ids:
// a non-negative integer is a child's index, a string an adapter among the children
// (adapters.Model.TaskIDs). Anything else, or no task at all, is an error naming the text.
func taskIDs(m *adapters.Model, tasks []json.RawMessage, def json.RawMessage, before int) ([]int, error) {
	ids := make([]int, len(tasks))
	for i, raw := range tasks {
		if raw == nil {
			raw = def
		}
		where := fmt.Sprintf("text %d", before+i+1)
		if raw == nil || string(raw) == "null" {
			return nil, fmt.Errorf("%s: the setup %s needs a task id per text (--task-id, or \"task_id\" with --jsonl)", where, m.Active())
		}
		var name string
		if json.Unmarshal(raw, &name) == nil {
			got, err := m.TaskIDs([]string{name})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			ids[i] = got[0]
			continue
		}
		var id int
		if err := json.Unmarshal(raw, &id); err != nil {
			return nil, fmt.Errorf("%s: task_id %s is neither an integer nor a task name", where, raw)
		}
		ids[i] = id
	}
	return ids, nil
}
