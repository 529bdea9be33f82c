package adapters

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/kernels"
)

// Head types this package runs (heads/base.py).
const (
	HeadClassification           = "classification"
	HeadMultiLabelClassification = "multilabel_classification"
	HeadTagging                  = "tagging"
)

// Head is a prediction head of a flex-head AdapterHub model: ClassificationHead,
// MultiLabelClassificationHead or TaggingHead of adapters/heads/base.py, built as
// PredictionHead.build builds its nn.Sequential.
type Head struct {
	Name      string
	Type      string
	Labels    []string // id2label, by id
	UsePooler bool
	layers    []headLayer
	numLabels int
}

type headLayer struct {
	lin bert.Linear
	act kernels.Activation // nil: none
}

// HeadConfig is the "config" object of head_config.json.
type HeadConfig struct {
	HeadType           string         `json:"head_type"`
	NumLabels          *int           `json:"num_labels"`
	Layers             *int           `json:"layers"`
	ActivationFunction *string        `json:"activation_function"`
	Label2ID           map[string]int `json:"label2id"`
	UsePooler          bool           `json:"use_pooler"`
	Bias               *bool          `json:"bias"`
}

// NumLabels returns the number of outputs.
func (h *Head) NumLabels() int { return h.numLabels }

// bindHead builds the head name from its config and the weights "heads.NAME.{i}.*".
func bindHead(bd *binder, name string, hc *HeadConfig, H int, file string) (*Head, error) {
	switch hc.HeadType {
	case HeadClassification, HeadMultiLabelClassification, HeadTagging:
	case "":
		return nil, &FormatError{File: file, Reason: "head config has no head_type"}
	default:
		return nil, &UnsupportedError{File: file, What: "head type " + strconv.Quote(hc.HeadType)}
	}
	if hc.NumLabels == nil || *hc.NumLabels <= 0 || *hc.NumLabels > 1<<20 {
		return nil, &FormatError{File: file, Reason: "head config needs a positive num_labels"}
	}
	nl := 1
	if hc.Layers != nil {
		nl = *hc.Layers
	}
	if nl < 1 || nl > 64 {
		return nil, &FormatError{File: file, Reason: fmt.Sprintf("head layers = %d", nl)}
	}
	actName := ""
	if hc.ActivationFunction != nil && *hc.ActivationFunction != "" {
		actName = strings.ToLower(*hc.ActivationFunction)
		if _, err := activation(actName); err != nil {
			return nil, &UnsupportedError{File: file, What: "head activation_function " + strconv.Quote(*hc.ActivationFunction)}
		}
	}
	bias := hc.Bias == nil || *hc.Bias
	h := &Head{Name: name, Type: hc.HeadType, UsePooler: hc.UsePooler, numLabels: *hc.NumLabels}
	if hc.HeadType == HeadTagging {
		h.UsePooler = false
	}
	// Module indices as nn.Sequential numbers them: Dropout, Linear, [activation], … , Dropout, Linear.
	idx := 0
	p := "heads." + name + "."
	for l := 0; l < nl; l++ {
		idx++ // dropout
		if l < nl-1 {
			hl := headLayer{lin: bd.linear(p+strconv.Itoa(idx), H, H, true)}
			idx++
			if actName != "" {
				hl.act = bindActivation(bd, actName, p+strconv.Itoa(idx)+".")
				idx++
			}
			h.layers = append(h.layers, hl)
		} else {
			h.layers = append(h.layers, headLayer{lin: bd.linear(p+strconv.Itoa(idx), *hc.NumLabels, H, bias)})
		}
	}
	if len(bd.problems) > 0 {
		// The weights do not fit num_labels: the caller reports them (bd.err) before a label
		// table sized by the config alone is built (2^20 labels: 40 MB).
		return h, nil
	}
	h.Labels = make([]string, *hc.NumLabels)
	for i := range h.Labels {
		h.Labels[i] = strconv.Itoa(i) // transformers' default id2label is LABEL_i; AdapterHub saves label2id
		h.Labels[i] = "LABEL_" + h.Labels[i]
	}
	if len(hc.Label2ID) > 0 {
		for _, l := range sortedKeys(hc.Label2ID) {
			id := hc.Label2ID[l]
			if id < 0 || id >= len(h.Labels) {
				return nil, &FormatError{File: file, Reason: fmt.Sprintf("label2id[%.32q] = %d outside [0,%d)", l, id, len(h.Labels))}
			}
			h.Labels[id] = l
		}
	}
	return h, nil
}

// forward runs the head on rows of x [rows, H] and returns logits [rows, numLabels] (scratch).
func (h *Head) forward(a *arena, x []float32, rows, H int) []float32 {
	if rows == 0 {
		return a.get(0) // a BatchSplit child given no sequences
	}
	cur, w := x, H
	for _, l := range h.layers {
		out, _ := l.lin.W.Dims()
		y := a.get(rows * out)
		l.lin.Forward(y, cur, rows)
		if l.act != nil {
			l.act(y)
		}
		cur, w = y, out
	}
	_ = w
	return cur
}

// sortLabelsByID is used by the index: labels in id order.
func sortLabelsByID(m map[string]int) []string {
	ls := make([]string, 0, len(m))
	for l := range m {
		ls = append(ls, l)
	}
	sort.Slice(ls, func(i, j int) bool { return m[ls[i]] < m[ls[j]] })
	return ls
}
