package engine

import (
	"errors"
	"math"

	"github.com/adapterwasm/adapterwasm/adapters"
)

// AdapterInfo describes a loaded adapter or fusion.
type AdapterInfo struct {
	Name      string   `json:"name"`
	Kind      string   `json:"kind"` // "adapter" or "fusion"
	Method    string   `json:"method,omitempty"`
	ModelName string   `json:"modelName,omitempty"`
	Head      string   `json:"head,omitempty"`
	HeadType  string   `json:"headType,omitempty"`
	Labels    []string `json:"labels,omitempty"`
	Bytes     int      `json:"bytes"` // size of the weight files it was loaded from
}

// Result is one text's output from one head.
type Result struct {
	Head   string             `json:"head,omitempty"`
	Label  string             `json:"label"`
	Score  float32            `json:"score"`  // probability of Label
	Scores map[string]float32 `json:"scores"` // probability per label: softmax, or sigmoid for multi-label heads
	Logits []float32          `json:"logits"`
	// Labels lists every label over its threshold (multi-label heads: sigmoid ≥ 0.5).
	Labels []string `json:"labels,omitempty"`
}

func codeOfAdapters(err error) error {
	if err == nil {
		return nil
	}
	var (
		fe *adapters.FormatError
		ue *adapters.UnsupportedError
		le *adapters.LoadError
		me *adapters.MismatchError
		se *adapters.SetupError
	)
	switch {
	case errors.As(err, &ue):
		return &Error{Code: CodeUnsupported, Err: err}
	case errors.As(err, &fe), errors.As(err, &le), errors.As(err, &me):
		return &Error{Code: CodeFormat, Err: err}
	case errors.As(err, &se):
		return &Error{Code: CodeSetup, Err: err}
	}
	return err
}

// LoadAdapter loads an AdapterHub adapter or fusion directory from its files' bytes, keyed by
// file name (adapter_config.json, adapter.safetensors or pytorch_adapter.bin, head_config.json,
// model_head.safetensors or pytorch_model_head.bin; or adapter_fusion_config.json and its
// weights). name loads it under that name (load_as); "" keeps the saved name. Loading an adapter
// whose name is loaded replaces it.
func (m *Model) LoadAdapter(name string, files map[string][]byte) (info AdapterInfo, err error) {
	err = m.call(func() error {
		if len(files) == 0 {
			return errorf(CodeInvalidArgument, "no files given")
		}
		got, err := m.am.Load(files, adapters.LoadOptions{Name: name})
		if err != nil {
			return codeOfAdapters(err)
		}
		m.setup, m.head = "", "" // a replaced adapter may change what the setup means: set it again
		info = m.describe(got)
		for _, b := range files {
			info.Bytes += len(b)
		}
		return nil
	})
	return info, err
}

func (m *Model) describe(name string) AdapterInfo {
	info := AdapterInfo{Name: name, Kind: "fusion"}
	if a := m.am.Adapter(name); a != nil {
		info.Kind = "adapter"
		info.ModelName = a.ModelName
		if a.Config != nil {
			info.Method = a.Config.Method()
		}
	}
	if h := m.am.Head(name); h != nil {
		info.Head, info.HeadType, info.Labels = h.Name, h.Type, h.Labels
	}
	return info
}

// UnloadAdapter drops an adapter, its head and every fusion over it (or a fusion by name).
func (m *Model) UnloadAdapter(name string) error {
	return m.call(func() error {
		if err := m.am.Unload(name); err != nil {
			var se *adapters.SetupError
			if errors.As(err, &se) {
				return &Error{Code: CodeNotFound, Err: err}
			}
			return codeOfAdapters(err)
		}
		m.setup, m.head = "", ""
		return nil
	})
}

// SetActive sets the active setup: an adapter name or an expression like "Stack(a,b)"
// (adapters.ParseSetup); "" deactivates every adapter. head, if not "", makes every forward pass
// use that head instead of those the setup implies (model(…, head=name)): Average and Stack
// setups, for instance, need it. On error the previous setup stays.
func (m *Model) SetActive(setup, head string) error {
	return m.call(func() error {
		if setup == "" {
			m.am.SetHead("")
			m.setup, m.head = "", ""
			return codeOfAdapters(m.am.SetActive(""))
		}
		return m.activate(setup, head)
	})
}

func (m *Model) activate(setup, head string) error {
	if setup == "" {
		setup = m.setup
	}
	if setup == m.setup && head == m.head && m.am.Active() != nil {
		return nil
	}
	prevSetup, prevHead := m.setup, m.head
	restore := func() {
		m.am.SetHead("")
		m.setup, m.head = "", ""
		if prevSetup != "" && m.am.SetActive(prevSetup) == nil {
			m.setup = prevSetup
			if prevHead != "" && m.am.SetHead(prevHead) == nil {
				m.head = prevHead
			}
		}
	}
	m.am.SetHead("") // "" never fails
	m.head = ""
	if err := m.am.SetActive(setup); err != nil {
		restore()
		return codeOfAdapters(err)
	}
	m.setup = setup
	if head != "" {
		if err := m.am.SetHead(head); err != nil {
			restore()
			return codeOfAdapters(err)
		}
		m.head = head
	}
	return nil
}

// Adapters lists the loaded adapters and fusions.
func (m *Model) Adapters() (out []AdapterInfo, err error) {
	err = m.call(func() error {
		for _, n := range m.am.Adapters() {
			out = append(out, m.describe(n))
		}
		for _, n := range m.am.Fusions() {
			out = append(out, m.describe(n))
		}
		return nil
	})
	return out, err
}

// Classify runs setup (an adapter name or expression; "" = the active setup) with head (see
// SetActive) on texts, in one call so that concurrent callers with different setups never mix;
// it returns one []Result per text, one Result per head that reads it (Parallel: one per branch).
func (m *Model) Classify(texts []string, setup, head string) (out [][]Result, err error) {
	err = m.call(func() error {
		if err := checkTexts(texts); err != nil {
			return err
		}
		if setup != "" || head != m.head {
			if err := m.activate(setup, head); err != nil {
				return err
			}
		}
		if m.am.Active() == nil {
			return errorf(CodeSetup, "no active adapters: set the active setup first")
		}
		out = make([][]Result, len(texts))
		if len(texts) == 0 {
			return nil
		}
		groups := [][]int{nil}
		if batchShaped(m.am.Active()) {
			for i := range texts {
				groups[0] = append(groups[0], i)
			}
		} else {
			groups = m.lengthGroups(texts)
		}
		for _, g := range groups {
			if err := m.classifyGroup(pick(texts, g), g, out); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// classifyGroup runs one forward pass over texts (the texts at indices idx of the call) and
// appends each head's result to out[idx[i]].
func (m *Model) classifyGroup(texts []string, idx []int, out [][]Result) error {
	in, _ := m.base.Tokenize(texts, 0)
	o, err := m.am.Forward(m.ast, in)
	if err != nil {
		return codeOfAdapters(err)
	}
	if len(o.Heads) == 0 {
		return errorf(CodeSetup, "setup %s has no prediction head", m.setup)
	}
	for _, h := range o.Heads {
		n := h.Head.NumLabels()
		if h.Head.Type == adapters.HeadTagging {
			return errorf(CodeUnsupported, "head %s is a tagging head: classify returns one label per text", h.Head.Name)
		}
		for i := 0; i < h.NSeq; i++ {
			j := idx[h.Seq0+i]
			out[j] = append(out[j], result(h.Head, h.Logits[i*n:(i+1)*n]))
		}
	}
	return nil
}

// result turns one head's logits into probabilities and the top label: softmax for single-label
// heads, sigmoid per label for multi-label ones (as the heads' get_label_names / pipelines do).
func result(h *adapters.Head, logits []float32) Result {
	r := Result{Head: h.Name, Logits: append([]float32(nil), logits...), Scores: make(map[string]float32, len(logits))}
	label := func(i int) string {
		if i < len(h.Labels) && h.Labels[i] != "" {
			return h.Labels[i]
		}
		return "LABEL_" + itoa(i)
	}
	probs := make([]float64, len(logits))
	if h.Type == adapters.HeadMultiLabelClassification {
		for i, v := range logits {
			probs[i] = 1 / (1 + math.Exp(-float64(v)))
		}
	} else {
		mx := math.Inf(-1)
		for _, v := range logits {
			mx = math.Max(mx, float64(v))
		}
		var sum float64
		for i, v := range logits {
			probs[i] = math.Exp(float64(v) - mx)
			sum += probs[i]
		}
		for i := range probs {
			probs[i] /= sum
		}
	}
	best := 0
	for i, p := range probs {
		r.Scores[label(i)] = float32(p)
		if p > probs[best] {
			best = i
		}
		if h.Type == adapters.HeadMultiLabelClassification && p >= 0.5 {
			r.Labels = append(r.Labels, label(i))
		}
	}
	if len(probs) > 0 {
		r.Label, r.Score = label(best), float32(probs[best])
	}
	return r
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	for ; i > 0; i /= 10 {
		n--
		b[n] = byte('0' + i%10)
	}
	return string(b[n:])
}
