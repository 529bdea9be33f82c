package engine

// Adapters, heads and the active setup. They wait for the adapters package (issue: AdapterHub
// adapter loading): until it lands every call here fails with CodePending rather than returning
// anything that looks like a result.

// headSet is the adapters loaded onto a model, and the active setup.
type headSet struct{}

func newHeadSet() *headSet { return &headSet{} }

// AdapterInfo describes a loaded adapter.
type AdapterInfo struct {
	Name   string   `json:"name"`
	Method string   `json:"method"`
	Head   string   `json:"head,omitempty"`
	Labels []string `json:"labels,omitempty"`
	Bytes  int      `json:"bytes"` // memory its weights take
}

// Result is one text's classification by one head.
type Result struct {
	Head   string             `json:"head,omitempty"`
	Label  string             `json:"label"`
	Score  float32            `json:"score"`
	Scores map[string]float32 `json:"scores"`
	Logits []float32          `json:"logits"`
}

var errPending = errorf(CodePending, "adapters are not available in this build yet (the adapters package has not landed)")

// LoadAdapter loads an AdapterHub adapter directory from its files' bytes, keyed by file name
// (adapter_config.json, adapter.safetensors or pytorch_adapter.bin, head files, fusion files).
func (m *Model) LoadAdapter(name string, files map[string][]byte) (info AdapterInfo, err error) {
	err = m.call(func() error { return errPending })
	return info, err
}

// UnloadAdapter drops an adapter and its head.
func (m *Model) UnloadAdapter(name string) error {
	return m.call(func() error { return errPending })
}

// SetActive sets the active setup: an adapter name or an expression like "Stack(a,b)".
func (m *Model) SetActive(setup string) error {
	return m.call(func() error { return errPending })
}

// Adapters lists the loaded adapters.
func (m *Model) Adapters() (out []AdapterInfo, err error) {
	err = m.call(func() error { return nil })
	return out, err
}

// Classify runs setup (an adapter name or expression; "" = the active setup) on texts, in one
// call so that concurrent callers with different setups never mix; one []Result per text, one
// Result per head.
func (m *Model) Classify(texts []string, setup string) (out [][]Result, err error) {
	err = m.call(func() error {
		if err := checkTexts(texts); err != nil {
			return err
		}
		return errPending
	})
	return out, err
}
