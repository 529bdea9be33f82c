package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/adapterwasm/adapterwasm/internal/jsonin"
	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
	"github.com/adapterwasm/adapterwasm/train"
)

func init() {
	register(&command{name: "train", summary: "train an adapter and its head on labelled JSON lines, saved as AdapterHub files", run: runTrain})
}

// maxTrainExamples bounds a --data or --eval file (its texts are held in memory).
const maxTrainExamples = 1 << 20

// example is one JSON line of --data / --eval: {"text": …, "label": "pos"} ("label" may be a
// number; a multi-label head takes "labels": ["a", "b"]).
type example struct {
	Text   *string           `json:"text"`
	Label  json.RawMessage   `json:"label"`
	Labels []json.RawMessage `json:"labels"`
}

func labelString(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return fmt.Sprint(int64(f)), nil
	}
	return "", fmt.Errorf("a label is a string or an integer, not %s", jsonin.Describe(fmt.Errorf("%.32s", raw)))
}

// readExamples reads texts and their label names from a JSON-lines file.
func readExamples(path string, multi bool) (texts []string, labels [][]string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), maxLineBytes)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if strings.TrimSpace(string(b)) == "" {
			continue
		}
		bad := func(format string, a ...any) error {
			return fmt.Errorf("%s line %d: %s", path, line, fmt.Sprintf(format, a...))
		}
		if err := jsonin.CheckDepth(b, jsonin.MaxDepth); err != nil {
			return nil, nil, bad("%v", err)
		}
		var ex example
		if err := json.Unmarshal(b, &ex); err != nil {
			return nil, nil, bad("invalid JSON: %s", jsonin.Describe(err))
		}
		if ex.Text == nil {
			return nil, nil, bad(`missing "text"`)
		}
		var ls []string
		if multi {
			if ex.Labels == nil {
				return nil, nil, bad(`a multi-label head needs "labels": [...]`)
			}
			for _, r := range ex.Labels {
				s, err := labelString(r)
				if err != nil {
					return nil, nil, bad("%v", err)
				}
				ls = append(ls, s)
			}
		} else {
			if ex.Label == nil {
				return nil, nil, bad(`missing "label"`)
			}
			s, err := labelString(ex.Label)
			if err != nil {
				return nil, nil, bad("%v", err)
			}
			ls = []string{s}
		}
		if len(texts) == maxTrainExamples {
			return nil, nil, bad("more than %d examples", maxTrainExamples)
		}
		texts = append(texts, *ex.Text)
		labels = append(labels, ls)
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return nil, nil, fmt.Errorf("%s line %d: longer than %d bytes", path, line+1, maxLineBytes)
		}
		return nil, nil, err
	}
	if len(texts) == 0 {
		return nil, nil, fmt.Errorf("%s: no examples", path)
	}
	return texts, labels, nil
}

func runTrain(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("train", stderr)
	modelDir := fs.String("model", "", "base model: a directory (Hugging Face layout or converted f32/f16/q8) or a hub id (required)")
	hf := addHubFlags(fs, stderr)
	data := fs.String("data", "", `training examples, JSON lines {"text": …, "label": …} (required)`)
	eval := fs.String("eval", "", "held-out examples in the same format: accuracy after every epoch")
	config := fs.String("config", "seq_bn", `adapter config string, e.g. "seq_bn[reduction_factor=16]", "lora[r=8]", "ia3"`)
	headType := fs.String("head", "classification", "head: classification or multilabel_classification")
	labelsFlag := fs.String("labels", "", "comma-separated label names in id order (default: the training labels, sorted)")
	layers := fs.Int("head-layers", 2, "layers of the head")
	epochs := fs.Int("epochs", 3, "passes over the training data")
	lr := fs.Float64("lr", 1e-4, "AdamW learning rate")
	schedule := fs.String("schedule", "constant", `learning rate schedule: constant, or linear (warm-up over the first 10% of steps, then linear decay to 0: torch's LambdaLR as the demo adapters' training script uses it)`)
	wd := fs.Float64("weight-decay", 0.01, "AdamW weight decay (torch's default)")
	batch := fs.Int("batch", 16, "examples per step")
	maxLength := fs.Int("max-length", 0, "truncate texts to this many tokens (0: the model's)")
	seed := fs.Uint64("seed", 42, "seed of the initialisation (when the config has no init_weights_seed) and of the data order")
	out := fs.String("out", "", "directory to write the adapter to (required)")
	name := fs.String("name", "", "adapter name (default: the --out directory's name)")
	modelNameFlag := fs.String("model-name", "", "model_name written into the saved configs (default: a hub id as given, else config.json's _name_or_path or the directory's name)")
	format := fs.String("format", train.FormatBin, "weights format: bin (pytorch_adapter.bin, save_adapter's default) or safetensors")
	maxMem := fs.Int64("max-activation-mib", train.DefaultMaxActivationBytes>>20, "refuse a step whose activations would exceed this many MiB")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *modelDir == "":
		return &usageError{msg: "--model is required"}
	case *data == "":
		return &usageError{msg: "--data is required"}
	case *out == "":
		return &usageError{msg: "--out is required"}
	case *epochs < 1 || *epochs > 10000:
		return &usageError{msg: "--epochs must be from 1 to 10000"}
	case *batch < 1 || *batch > 4096:
		return &usageError{msg: "--batch must be from 1 to 4096"}
	case !(*lr > 0 && *lr < 10):
		return &usageError{msg: "--lr must be in (0, 10)"}
	case !(*wd >= 0 && *wd < 10):
		return &usageError{msg: "--weight-decay must be in [0, 10)"}
	case *headType != train.HeadClassification && *headType != train.HeadMultiLabelClassification:
		return &usageError{msg: "--head must be classification or multilabel_classification"}
	case *schedule != "constant" && *schedule != "linear":
		return &usageError{msg: "--schedule must be constant or linear"}
	case *format != train.FormatBin && *format != train.FormatSafetensors:
		return &usageError{msg: "--format must be bin or safetensors"}
	case *maxMem < 1 || *maxMem > 1<<20:
		return &usageError{msg: "--max-activation-mib must be from 1 to 1048576"}
	}
	if err := checkMaxLength(*maxLength); err != nil {
		return err
	}
	if *name == "" {
		*name = filepath.Base(filepath.Clean(*out))
	}
	multi := *headType == train.HeadMultiLabelClassification
	texts, labels, err := readExamples(*data, multi)
	if err != nil {
		return err
	}
	var evTexts []string
	var evLabels [][]string
	if *eval != "" {
		if evTexts, evLabels, err = readExamples(*eval, multi); err != nil {
			return err
		}
	}
	var names []string
	if *labelsFlag != "" {
		names = strings.Split(*labelsFlag, ",")
	} else {
		seen := map[string]bool{}
		for _, ls := range labels {
			for _, l := range ls {
				if !seen[l] {
					seen[l] = true
					names = append(names, l)
				}
			}
		}
		sort.Strings(names)
	}
	if len(names) > train.MaxLabels { // before a multi-label head's examples × labels rows
		return &train.LabelsError{Labels: len(names)}
	}
	ids := map[string]int{}
	for i, l := range names {
		ids[l] = i
	}
	encode := func(ls [][]string, file string) ([][]int, error) {
		out := make([][]int, len(ls))
		for i, l := range ls {
			if multi {
				v := make([]int, len(names))
				for _, s := range l {
					id, ok := ids[s]
					if !ok {
						return nil, fmt.Errorf("%s example %d: label %.64q is not one of %v", file, i+1, s, names)
					}
					v[id] = 1
				}
				out[i] = v
				continue
			}
			id, ok := ids[l[0]]
			if !ok {
				return nil, fmt.Errorf("%s example %d: label %.64q is not one of %v", file, i+1, l[0], names)
			}
			out[i] = []int{id}
		}
		return out, nil
	}
	y, err := encode(labels, *data)
	if err != nil {
		return err
	}
	evY, err := encode(evLabels, *eval)
	if err != nil {
		return err
	}
	evIDs := evY // train.Accuracy takes a multi-label example's label ids, not its 0/1 row
	if multi {
		evIDs = make([][]int, len(evY))
		for k, row := range evY {
			for j, v := range row {
				if v == 1 {
					evIDs[k] = append(evIDs[k], j)
				}
			}
		}
	}

	dir, err := hf.model(*modelDir)
	if err != nil {
		return err
	}
	m, err := pretrained.LoadDir(dir)
	if err != nil {
		return err
	}
	modelName := m.Name
	if !strings.Contains(*modelDir, string(filepath.Separator)) && !dirExists(*modelDir) {
		modelName = *modelDir // a hub id
	}
	if *modelNameFlag != "" {
		modelName = *modelNameFlag
	}
	tr, err := train.New(m.Encoder, train.Options{
		Name: *name, Config: *config, ModelName: modelName,
		Head: train.HeadSpec{Type: *headType, Labels: names, Layers: *layers},
		LR:   *lr, WeightDecay: *wd, NoWeightDecay: *wd == 0, Seed: *seed,
		MaxActivationBytes: *maxMem << 20,
	})
	if err != nil {
		return err
	}
	quiet := *hf.quiet
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	rng := rand.New(rand.NewSource(int64(*seed)))
	order := make([]int, len(texts))
	for i := range order {
		order[i] = i
	}
	if !quiet {
		fmt.Fprintf(stderr, "training %s (%s, %d parameters) on %s: %d examples, %d labels, %d epochs, batch %d, lr %g\n",
			*name, tr.Config.Method(), countParams(tr), m.Name, len(texts), len(names), *epochs, *batch, *lr)
	}
	lengths := make([]int, len(texts))
	for i, tx := range texts {
		in, _ := m.Tokenize([]string{tx}, *maxLength)
		lengths[i] = in.T
	}
	var lastDraw time.Time
	totalSteps := *epochs * ((len(texts) + *batch - 1) / *batch)
	stepNo := 0
	for ep := 1; ep <= *epochs; ep++ {
		start := time.Now()
		var sum float64
		steps, done := 0, 0
		for _, idx := range train.LengthBatches(rng, order, lengths, *batch) {
			bt := make([]string, len(idx))
			var by []int
			for i, k := range idx {
				bt[i] = texts[k]
				by = append(by, y[k]...)
			}
			in, _ := m.Tokenize(bt, *maxLength)
			if *schedule == "linear" {
				tr.Opt.LR = *lr * linearSchedule(stepNo, totalSteps)
			}
			stepNo++
			loss, err := tr.Step(train.Batch{Input: in, Labels: by})
			if err != nil {
				return err
			}
			sum += loss
			steps++
			done += len(idx)
			if !quiet && (time.Since(lastDraw) >= 200*time.Millisecond || done == len(order)) {
				lastDraw = time.Now()
				progressBar(stderr, ep, *epochs, done, len(order), sum/float64(steps), float64(done)/time.Since(start).Seconds())
			}
		}
		secs := time.Since(start).Seconds()
		if !quiet {
			fmt.Fprintln(stderr)
		}
		rec := map[string]any{"epoch": ep, "loss": sum / float64(steps), "examples": done,
			"seconds": math.Round(secs*100) / 100, "examples_per_second": math.Round(float64(done)/secs*100) / 100}
		if evTexts != nil {
			acc, err := train.Accuracy(tr, m, evTexts, evIDs, *maxLength)
			if err != nil {
				return err
			}
			rec["dev_accuracy"] = acc
		}
		if err := writeJSONLine(w, rec); err != nil {
			return err
		}
		w.Flush()
	}
	if err := tr.Save(*out, *format); err != nil {
		return err
	}
	if !quiet {
		fmt.Fprintf(stderr, "saved %s to %s\n", *name, *out)
	}
	return nil
}

// linearSchedule is the factor of step s (from 0) of n: min(1, (s+1)/(0.1·n)) · max(0, 1 − s/n),
// the LambdaLR of tools/reference/make_minilm.py.
func linearSchedule(s, n int) float64 {
	return math.Min(1, float64(s+1)/(0.1*float64(n))) * math.Max(0, 1-float64(s)/float64(n))
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func countParams(tr *train.Trainer) int {
	n := 0
	for _, p := range tr.Params() {
		n += len(p.W)
	}
	return n
}

// progressBar redraws one line on stderr: epoch, bar, examples, mean loss, examples/s.
func progressBar(w io.Writer, ep, epochs, done, total int, loss, rate float64) {
	const width = 30
	fill := width * done / total
	fmt.Fprintf(w, "\repoch %d/%d [%s%s] %d/%d loss %.4f %.1f ex/s ", ep, epochs,
		strings.Repeat("=", fill), strings.Repeat(" ", width-fill), done, total, loss, rate)
}
