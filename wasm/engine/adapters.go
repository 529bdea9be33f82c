package engine

import (
	"errors"

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

// Result is one text's output, shaped as `adapterwasm classify` prints it:
//
//	one classification head:  Prediction (label, score, scores, logits; labels for multi-label)
//	one tagging head:         Words and Tokens
//	Parallel(a,b,…):          Heads, keyed by head name
//	BatchSplit(a,b,…):        the result of the head whose slice holds the text, with Head
type Result = adapters.Result

// InputStats is what the model read of a text (Result.Input).
type InputStats = adapters.InputStats

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
		size := 0
		for _, b := range files {
			size += len(b)
		}
		if size > MaxAdapterBytes {
			return errorf(CodeInvalidArgument, "adapter files are %d bytes; at most %d", size, MaxAdapterBytes)
		}
		if n := len(m.am.Adapters()) + len(m.am.Fusions()); n >= MaxAdapters && m.am.Adapter(name) == nil {
			return errorf(CodeInvalidArgument, "%d adapters loaded; at most %d: unload one first", n, MaxAdapters)
		}
		got, err := m.am.Load(files, adapters.LoadOptions{Name: name})
		if err != nil {
			return codeOfAdapters(err)
		}
		m.setup, m.head = "", "" // a replaced adapter may change what the setup means: set it again
		delete(m.trained, got)   // a loaded adapter replaces one trained here
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
		delete(m.trained, name)
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
// it returns one Result per text.
func (m *Model) Classify(texts []string, setup, head string) (out []*Result, err error) {
	return m.ClassifyTasks(texts, setup, head, nil)
}

// Task is one text's task for a MultiTask setup (model(…, task_ids=…)): the index of a child of
// the MultiTask block, or, when Name is set, the adapter of that name among its children.
type Task struct {
	ID   int
	Name string
}

// ClassifyTasks is Classify with one task per text for the setup's MultiTask block; tasks are
// ignored without one (as the library ignores task_ids). A count other than the texts', or ids
// or names that are not the block's children, give code setup.
func (m *Model) ClassifyTasks(texts []string, setup, head string, tasks []Task) (out []*Result, err error) {
	err = m.call(func() error {
		if err := checkTexts(texts); err != nil {
			return err
		}
		if setup != "" || head != m.head {
			if err := m.activate(setup, head); err != nil {
				return err
			}
		}
		var ids []int
		if tasks != nil && adapters.FindBlock(m.am.Active(), adapters.MultiTask) != nil {
			ids = make([]int, len(tasks))
			for i, t := range tasks {
				ids[i] = t.ID
				if t.Name != "" {
					got, err := m.am.TaskIDs([]string{t.Name})
					if err != nil {
						return codeOfAdapters(err)
					}
					ids[i] = got[0]
				}
			}
		}
		res, err := m.am.ClassifyTasks(m.ast, m.base, texts, ids, 0)
		if err != nil {
			return codeOfAdapters(err)
		}
		out = res
		return nil
	})
	return out, err
}

// SetupNames parses a setup expression (adapters.ParseSetup, with its nesting rules) and lists
// the adapters and fusions it needs loaded, each once, in order: what a caller has to fetch
// before the setup can run.
func SetupNames(expr string) (names, fusions []string, err error) {
	err = Guard(func() error {
		b, err := adapters.ParseSetup(expr)
		if err != nil {
			return codeOfAdapters(err)
		}
		seen := map[string]bool{}
		var walk func(b *adapters.Block)
		walk = func(b *adapters.Block) {
			switch {
			case b.Kind == adapters.Single:
				if !seen[b.Name] {
					seen[b.Name] = true
					names = append(names, b.Name)
				}
				return
			case b.Kind == adapters.Fuse && !seen["fusion:"+b.Name]:
				seen["fusion:"+b.Name] = true
				fusions = append(fusions, b.Name)
			}
			for _, c := range b.Children {
				walk(c)
			}
		}
		walk(b)
		return nil
	})
	return names, fusions, err
}
