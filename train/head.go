package train

import (
	"fmt"
	"math"
	"strconv"
)

// Head types the trainer trains (adapters/heads/base.py).
const (
	HeadClassification           = "classification"
	HeadMultiLabelClassification = "multilabel_classification"
)

// HeadSpec is what add_classification_head takes.
type HeadSpec struct {
	Type       string   // HeadClassification (default) or HeadMultiLabelClassification
	Labels     []string // id2label; their number is num_labels (≥ 2)
	Layers     int      // default 2
	Activation string   // default "tanh"
	UsePooler  bool
	NoBias     bool // bias=False on the last layer
}

// head is ClassificationHead / MultiLabelClassificationHead: [Dropout, Linear(H,H), act]×(layers−1),
// Dropout, Linear(H, num_labels), with their loss (CrossEntropyLoss, BCEWithLogitsLoss; mean).
type head struct {
	spec   HeadSpec
	layers []headLayer
}

type headLayer struct {
	W, B    *Param
	in, out int
	act     *act
	x, pre  []float32 // the layer's input and its output before the activation
}

func newHead(name string, spec HeadSpec, H int, p *[]*Param) (*head, error) {
	switch spec.Type {
	case "":
		spec.Type = HeadClassification
	case HeadClassification, HeadMultiLabelClassification:
	default:
		return nil, &UnsupportedError{What: "training head type " + strconv.Quote(spec.Type)}
	}
	if len(spec.Labels) > MaxLabels {
		return nil, &LabelsError{Labels: len(spec.Labels)}
	}
	if len(spec.Labels) < 2 {
		return nil, &ConfigError{Reason: fmt.Sprintf("a head needs at least 2 labels, got %d", len(spec.Labels))}
	}
	seen := map[string]bool{}
	for i, l := range spec.Labels {
		if len(l) > MaxLabelBytes {
			return nil, &LabelsError{Index: i, Bytes: len(l)}
		}
		if seen[l] {
			return nil, &ConfigError{Reason: fmt.Sprintf("label %q given twice", l)}
		}
		seen[l] = true
	}
	if spec.Layers == 0 {
		spec.Layers = 2
	}
	if spec.Layers < 1 || spec.Layers > 64 {
		return nil, &ConfigError{Reason: fmt.Sprintf("head layers = %d, want 1 to 64", spec.Layers)}
	}
	if spec.Activation == "" {
		spec.Activation = "tanh"
	}
	a, ok := activationByName(spec.Activation)
	if !ok {
		return nil, &UnsupportedError{What: "training with head activation " + strconv.Quote(spec.Activation)}
	}
	h := &head{spec: spec}
	idx := 0
	pre := "heads." + name + "."
	for l := 0; l < spec.Layers; l++ {
		idx++ // Dropout
		out := H
		last := l == spec.Layers-1
		if last {
			out = len(spec.Labels)
		}
		hl := headLayer{in: H, out: out, W: newParam(pre+strconv.Itoa(idx)+".weight", out, H)}
		if !last || !spec.NoBias {
			hl.B = newParam(pre+strconv.Itoa(idx)+".bias", out)
		}
		idx++
		if !last {
			hl.act = &a
			idx++
		}
		*p = append(*p, hl.W)
		if hl.B != nil {
			*p = append(*p, hl.B)
		}
		h.layers = append(h.layers, hl)
	}
	return h, nil
}

// init is the head as torch.manual_seed(seed) then add_classification_head leaves it: each
// nn.Linear draws its default init when built, then the model's _init_weights gives every
// weight normal(0, initializer_range) and every bias zero.
func (h *head) init(seed uint64, initializerRange float64) {
	r := newTorchRNG(seed)
	for _, l := range h.layers {
		var b []float32
		if l.B != nil {
			b = l.B.W
		}
		r.linearDefault(l.W.W, b, l.in)
	}
	for _, l := range h.layers {
		r.normal(l.W.W, 0, initializerRange)
		if l.B != nil {
			clear(l.B.W)
		}
	}
}

// forward returns the logits [n, num_labels] of x [n, H], keeping each layer's activations.
func (h *head) forward(x []float32, n int, p *pool) []float32 {
	cur := x
	for i := range h.layers {
		l := &h.layers[i]
		l.x = cur
		l.pre = p.get(n * l.out)
		matT(l.pre, cur, n, l.in, l.W.W, l.out)
		if l.B != nil {
			addBias(l.pre, l.B.W)
		}
		cur = l.pre
		if l.act != nil {
			cur = p.get(n * l.out)
			l.act.apply(cur, l.pre)
		}
	}
	return cur
}

// backward takes ∂L/∂logits and returns ∂L/∂x [n, H].
func (h *head) backward(dLogits []float32, n int, p *pool) []float32 {
	d := dLogits
	for i := len(h.layers) - 1; i >= 0; i-- {
		l := &h.layers[i]
		if l.act != nil {
			dd := p.clone(d)
			l.act.backward(dd, l.pre)
			d = dd
		}
		var db []float32
		if l.B != nil {
			db = l.B.G
		}
		addOuter(l.W.G, db, d, l.x, n, l.out, l.in)
		dx := p.get(n * l.in)
		matN(dx, d, n, l.out, l.W.W, l.in)
		d = dx
	}
	return d
}

// loss is the head's loss on logits [n, N] with labels (class ids for classification, n×N
// 0/1 values for multi-label), and its gradient ∂loss/∂logits, all in float64 before rounding.
func (h *head) loss(logits []float32, n int, labels []int, dLogits []float32) float64 {
	N := len(h.spec.Labels)
	var total float64
	if h.spec.Type == HeadMultiLabelClassification {
		// BCEWithLogitsLoss: mean over n·N of max(z,0) − z·y + log(1 + e^−|z|)
		cnt := float64(n * N)
		for i := 0; i < n*N; i++ {
			z, y := float64(logits[i]), float64(labels[i])
			total += math.Max(z, 0) - z*y + math.Log1p(math.Exp(-math.Abs(z)))
			dLogits[i] = float32((1/(1+math.Exp(-z)) - y) / cnt)
		}
		return total / cnt
	}
	// CrossEntropyLoss: mean over n of logsumexp(z) − z_y
	for i := 0; i < n; i++ {
		z := logits[i*N : (i+1)*N]
		mx := math.Inf(-1)
		for _, v := range z {
			mx = math.Max(mx, float64(v))
		}
		var s float64
		for _, v := range z {
			s += math.Exp(float64(v) - mx)
		}
		lse := mx + math.Log(s)
		total += lse - float64(z[labels[i]])
		for j, v := range z {
			g := math.Exp(float64(v) - lse)
			if j == labels[i] {
				g--
			}
			dLogits[i*N+j] = float32(g / float64(n))
		}
	}
	return total / float64(n)
}
