package engine

import (
	"encoding/json"
	"errors"
	"math/rand"
	"sort"

	"github.com/adapterwasm/adapterwasm/adapters"
	"github.com/adapterwasm/adapterwasm/internal/jsonin"
	"github.com/adapterwasm/adapterwasm/train"
)

// MaxTrainExamples bounds the examples of one TrainAdapter call.
const MaxTrainExamples = 1 << 17

// TrainExample is one labelled text: Label for a classification head, Labels for a multi-label one.
type TrainExample struct {
	Text   string   `json:"text"`
	Label  string   `json:"label,omitempty"`
	Labels []string `json:"labels,omitempty"`
}

// TrainOptions are what model.trainAdapter takes (zero values: the defaults given).
type TrainOptions struct {
	Config    string   `json:"config"`    // adapter config string; default "seq_bn"
	Head      string   `json:"head"`      // "classification" (default) or "multilabel_classification"
	Labels    []string `json:"labels"`    // label names in id order; default the examples' labels, sorted
	Epochs    int      `json:"epochs"`    // default 3
	LR        float64  `json:"lr"`        // default 1e-4
	BatchSize int      `json:"batchSize"` // default 16
	MaxLength int      `json:"maxLength"` // default the model's
	Seed      uint64   `json:"seed"`      // default 42
	ModelName string   `json:"modelName"` // model_name in the saved configs; default the base's name
	// Dev are held-out examples (labels among the training labels): the step that ends an epoch
	// reports the adapter's accuracy on them (train.Accuracy).
	Dev []TrainExample `json:"dev"`
}

// TrainProgress is reported after every step.
type TrainProgress struct {
	Epoch    int     `json:"epoch"` // 1-based
	Epochs   int     `json:"epochs"`
	Step     int     `json:"step"` // steps done in all
	Steps    int     `json:"steps"`
	Loss     float64 `json:"loss"` // mean loss of this epoch's steps so far
	Examples int     `json:"examples"`
	// EpochDone is set on an epoch's last step, with DevAccuracy when there are dev examples.
	EpochDone   bool     `json:"epochDone"`
	DevAccuracy *float64 `json:"devAccuracy,omitempty"`
	Done        bool     `json:"done"` // the adapter is trained and loaded under its name
}

// Training is a training run started by TrainAdapter. The caller drives it one Step at a time
// (the JS package between event-loop turns, so that progress is reported and an AbortSignal can
// stop it); after the last step the adapter and its head are loaded into the model under the
// run's name, ready for Classify, and SaveAdapter returns their files.
type Training struct {
	m       *Model
	name    string
	tr      *train.Trainer
	texts   []string
	y       [][]int // each example's label id (classification) or ids (multi-label)
	devX    []string
	devY    [][]int
	multi   bool
	nLabels int
	lengths []int
	rng     *rand.Rand
	epochs  int
	batch   int
	maxLen  int
	queue   [][]int // the current epoch's remaining batches
	prog    TrainProgress
	sum     float64
	nsteps  int
	done    bool
}

// TrainAdapter starts training a new adapter and head called name on the model's base (package
// train: the base frozen, AdamW, the library's initialisation, no dropout).
func (m *Model) TrainAdapter(name string, examples []TrainExample, opt TrainOptions) (t *Training, err error) {
	err = m.call(func() error {
		if name == "" {
			return errorf(CodeInvalidArgument, "the adapter needs a name")
		}
		if len(examples) == 0 || len(examples) > MaxTrainExamples {
			return errorf(CodeInvalidArgument, "%d examples; 1 to %d", len(examples), MaxTrainExamples)
		}
		if opt.Config == "" {
			opt.Config = "seq_bn"
		}
		if opt.Head == "" {
			opt.Head = train.HeadClassification
		}
		multi := opt.Head == train.HeadMultiLabelClassification
		def := func(v *int, d, hi int, what string) error {
			if *v == 0 {
				*v = d
			}
			if *v < 1 || *v > hi {
				return errorf(CodeInvalidArgument, "%s must be from 1 to %d", what, hi)
			}
			return nil
		}
		if err := def(&opt.Epochs, 3, 10000, "epochs"); err != nil {
			return err
		}
		if err := def(&opt.BatchSize, 16, MaxBatch, "batchSize"); err != nil {
			return err
		}
		if opt.LR == 0 {
			opt.LR = 1e-4
		}
		if !(opt.LR > 0 && opt.LR < 10) {
			return errorf(CodeInvalidArgument, "lr must be in (0, 10)")
		}
		names := opt.Labels
		if len(names) == 0 {
			seen := map[string]bool{}
			for _, e := range examples {
				ls := []string{e.Label}
				if multi {
					ls = e.Labels
				}
				for _, l := range ls {
					if !seen[l] {
						seen[l] = true
						names = append(names, l)
					}
				}
			}
			sort.Strings(names)
		}
		if len(names) > train.MaxLabels {
			return codeOfTrain(&train.LabelsError{Labels: len(names)})
		}
		ids := map[string]int{}
		for i, l := range names {
			ids[l] = i
		}
		t = &Training{m: m, name: name, multi: multi, nLabels: len(names), epochs: opt.Epochs, batch: opt.BatchSize, maxLen: opt.MaxLength,
			rng: rand.New(rand.NewSource(int64(opt.Seed)))}
		if len(opt.Dev) > MaxTrainExamples {
			return errorf(CodeInvalidArgument, "%d dev examples; at most %d", len(opt.Dev), MaxTrainExamples)
		}
		// encode checks an example and returns its label ids: the label's for classification,
		// those that apply for multi-label (not a dense 0/1 row: that would take examples × labels ints)
		encode := func(what string, i int, e TrainExample) ([]int, error) {
			if len(e.Text) > MaxTextBytes {
				return nil, errorf(CodeInvalidArgument, "%s %d: text of %d bytes; at most %d", what, i, len(e.Text), MaxTextBytes)
			}
			ls := []string{e.Label}
			if multi {
				ls = e.Labels
			}
			var v []int
			for _, l := range ls {
				id, ok := ids[l]
				if !ok {
					return nil, errorf(CodeInvalidArgument, "%s %d: label %.64q is not one of the labels", what, i, l)
				}
				v = append(v, id)
			}
			return v, nil
		}
		for i, e := range examples {
			v, err := encode("example", i, e)
			if err != nil {
				return err
			}
			t.texts = append(t.texts, e.Text)
			t.y = append(t.y, v)
		}
		for i, e := range opt.Dev {
			v, err := encode("dev example", i, e)
			if err != nil {
				return err
			}
			t.devX = append(t.devX, e.Text)
			t.devY = append(t.devY, v)
		}
		modelName := opt.ModelName
		if modelName == "" {
			modelName = m.base.Name
		}
		tr, err := train.New(m.base.Encoder, train.Options{Name: name, Config: opt.Config, ModelName: modelName,
			Head: train.HeadSpec{Type: opt.Head, Labels: names}, LR: opt.LR, Seed: opt.Seed})
		if err != nil {
			return codeOfTrain(err)
		}
		t.tr = tr
		for _, tx := range t.texts {
			in, _ := m.base.Tokenize([]string{tx}, opt.MaxLength)
			t.lengths = append(t.lengths, in.T)
		}
		per := (len(t.texts) + t.batch - 1) / t.batch
		t.prog = TrainProgress{Epochs: opt.Epochs, Steps: per * opt.Epochs}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

func codeOfTrain(err error) error {
	var (
		ce *train.ConfigError
		ue *train.UnsupportedError
		ie *train.InputError
		le *train.LimitError
		xe *train.LabelsError
	)
	switch {
	case errors.As(err, &ue):
		return &Error{Code: CodeUnsupported, Err: err}
	case errors.As(err, &ce), errors.As(err, &ie), errors.As(err, &le), errors.As(err, &xe):
		return &Error{Code: CodeInvalidArgument, Err: err}
	}
	return codeOfAdapters(err)
}

// Step runs one batch (an AdamW step) and reports progress; the step that finishes the last
// epoch also loads the adapter. Calling Step after that returns the final progress again.
func (t *Training) Step() (p TrainProgress, err error) {
	err = t.m.call(func() error {
		if t.done {
			return nil
		}
		if len(t.queue) == 0 {
			t.prog.Epoch++
			t.sum, t.nsteps, t.prog.Examples = 0, 0, 0
			order := make([]int, len(t.texts))
			for i := range order {
				order[i] = i
			}
			t.queue = train.LengthBatches(t.rng, order, t.lengths, t.batch)
		}
		idx := t.queue[0]
		t.queue = t.queue[1:]
		texts := make([]string, len(idx))
		var y []int
		if t.multi {
			y = make([]int, len(idx)*t.nLabels)
		}
		for i, k := range idx {
			texts[i] = t.texts[k]
			if t.multi {
				row := y[i*t.nLabels:]
				for _, id := range t.y[k] {
					row[id] = 1
				}
				continue
			}
			y = append(y, t.y[k]...)
		}
		in, _ := t.m.base.Tokenize(texts, t.maxLen)
		loss, err := t.tr.Step(train.Batch{Input: in, Labels: y})
		if err != nil {
			return codeOfTrain(err)
		}
		t.sum += loss
		t.nsteps++
		t.prog.Step++
		t.prog.Examples += len(idx)
		t.prog.Loss = t.sum / float64(t.nsteps)
		t.prog.EpochDone, t.prog.DevAccuracy = len(t.queue) == 0, nil
		if t.prog.EpochDone && len(t.devX) > 0 {
			acc, err := train.Accuracy(t.tr, t.m.base, t.devX, t.devY, t.maxLen)
			if err != nil {
				return codeOfTrain(err)
			}
			t.prog.DevAccuracy = &acc
		}
		if len(t.queue) == 0 && t.prog.Epoch == t.epochs {
			files, err := t.tr.Files(train.FormatSafetensors)
			if err != nil {
				return err
			}
			if _, err := t.m.am.Load(files, adapters.LoadOptions{Name: t.name}); err != nil {
				return codeOfAdapters(err)
			}
			t.m.setup, t.m.head = "", ""
			if t.m.trained == nil {
				t.m.trained = map[string]*train.Trainer{}
			}
			t.m.trained[t.name] = t.tr
			t.done, t.prog.Done = true, true
		}
		return nil
	})
	return t.prog, err
}

// SaveAdapter returns the files save_adapter + save_head write for an adapter trained on this
// model ("bin" or "safetensors" weights), keyed by file name.
func (m *Model) SaveAdapter(name, format string) (files map[string][]byte, err error) {
	err = m.call(func() error {
		tr := m.trained[name]
		if tr == nil || m.am.Adapter(name) == nil {
			return errorf(CodeNotFound, "no adapter %q trained on this model", name)
		}
		files, err = tr.Files(format)
		if err != nil {
			return codeOfTrain(err)
		}
		return nil
	})
	return files, err
}

// TrainAdapterJSON is TrainAdapter with the examples ([{text, label | labels}]) and options
// (TrainOptions' fields) as JSON, as the JS package sends them; the nesting is bounded before
// decoding.
func (m *Model) TrainAdapterJSON(name string, examples, options []byte) (*Training, error) {
	var ex []TrainExample
	var opt TrainOptions
	for _, d := range []struct {
		b    []byte
		v    any
		what string
	}{{examples, &ex, "examples"}, {options, &opt, "options"}} {
		if len(d.b) == 0 {
			continue
		}
		if err := jsonin.CheckDepth(d.b, jsonin.MaxDepth); err != nil {
			return nil, errorf(CodeInvalidArgument, "%s: %v", d.what, err)
		}
		if err := json.Unmarshal(d.b, d.v); err != nil {
			return nil, errorf(CodeInvalidArgument, "%s: %s", d.what, jsonin.Describe(err))
		}
	}
	return m.TrainAdapter(name, ex, opt)
}
