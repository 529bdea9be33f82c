package adapters

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/adapterwasm/adapterwasm/internal/jsonin"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/weights"
)

// Files of a saved AdapterHub directory (adapters/utils.py). Weights are looked for as
// safetensors first, then as the PyTorch pickle.
const (
	ConfigFile            = "adapter_config.json"
	WeightsFile           = "pytorch_adapter.bin"
	SafeWeightsFile       = "adapter.safetensors"
	HeadConfigFile        = "head_config.json"
	HeadWeightsFile       = "pytorch_model_head.bin"
	SafeHeadWeightsFile   = "model_head.safetensors"
	FusionConfigFile      = "adapter_fusion_config.json"
	FusionWeightsFile     = "pytorch_model_adapter_fusion.bin"
	SafeFusionWeightsFile = "model_adapter_fusion.safetensors"
)

// DirFiles lists every file name LoadDir reads from an adapter directory.
var DirFiles = []string{ConfigFile, SafeWeightsFile, WeightsFile, HeadConfigFile, SafeHeadWeightsFile,
	HeadWeightsFile, FusionConfigFile, SafeFusionWeightsFile, FusionWeightsFile}

// Adapter is one loaded adapter: its modules per layer and location, bound to the base model's
// shapes. It owns only its own weights; the base model's are never copied.
type Adapter struct {
	Name      string
	Config    *Config
	ModelName string // model_name of adapter_config.json
	ModelType string
	Version   string
	Head      *Head // nil when the directory has none (or it was not loaded)

	bn     [][2]*bottleneck             // [layer][bert.Residual]
	lora   [][bert.NumSites]*loraModule // [layer][site]
	prefix *prefixModule
	reft   []*reftModule // [layer], nil where none
	prompt *promptModule
	inv    *invertibleModule // invertible_adapters.NAME, when a bottleneck config declares inv_adapter
}

// Fusion is a loaded AdapterFusion layer set (BertFusion per layer and location).
type Fusion struct {
	Name     string
	Adapters []string
	Config   FusionConfig
	Head     *Head
	layers   [][2]*fusionModule
}

// LoadOptions modify loading, as load_adapter's arguments do.
type LoadOptions struct {
	// Name loads the adapter (and its head) under this name instead of the saved one (load_as).
	Name string
	// NoHead skips the prediction head (with_head=False).
	NoHead bool
}

// ReadDir reads the known files of an AdapterHub directory into a map keyed by file name.
func ReadDir(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, name := range DirFiles {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		files[name] = b
	}
	if len(files) == 0 {
		return nil, &FormatError{File: dir, Reason: "not an AdapterHub directory (no " + ConfigFile + " or " + FusionConfigFile + ")"}
	}
	return files, nil
}

// LoadDir loads an adapter or fusion directory (see Load). Errors name files inside dir.
func (m *Model) LoadDir(dir string, opt LoadOptions) (string, error) {
	files, err := ReadDir(dir)
	if err != nil {
		return "", err
	}
	prefixed := make(map[string][]byte, len(files))
	for k, v := range files {
		prefixed[k] = v
	}
	name, err := m.loadFiles(files, opt, dir)
	return name, err
}

// Load adds an adapter (adapter_config.json + weights [+ head]) or a fusion
// (adapter_fusion_config.json + weights [+ head]) from file contents keyed by file name, and
// returns the name it was loaded under. A fusion needs its adapters loaded first.
func (m *Model) Load(files map[string][]byte, opt LoadOptions) (string, error) {
	return m.loadFiles(files, opt, "")
}

func (m *Model) loadFiles(files map[string][]byte, opt LoadOptions, dir string) (string, error) {
	path := func(f string) string {
		if dir == "" {
			return f
		}
		return filepath.Join(dir, f)
	}
	if _, ok := files[FusionConfigFile]; ok {
		return m.loadFusion(files, opt, path)
	}
	if _, ok := files[ConfigFile]; !ok {
		return "", &FormatError{File: path(ConfigFile), Reason: "missing"}
	}
	a, err := m.parseAdapter(files, opt, path)
	if err != nil {
		return "", err
	}
	if old, ok := m.adapters[a.Name]; ok {
		m.unload(old.Name)
	}
	m.adapters[a.Name] = a
	if a.Head != nil {
		m.heads[a.Head.Name] = a.Head
	}
	return a.Name, nil
}

// meta is the common top level of adapter_config.json, head_config.json and
// adapter_fusion_config.json.
type meta struct {
	Config       json.RawMessage `json:"config"`
	HiddenSize   *int            `json:"hidden_size"`
	ModelName    string          `json:"model_name"`
	ModelType    string          `json:"model_type"`
	ModelClass   string          `json:"model_class"`
	Name         string          `json:"name"`
	Version      *string         `json:"version"`
	AdapterNames []string        `json:"adapter_names"`
	Label2ID     map[string]int  `json:"label2id"`   // static heads
	NumLabels    *int            `json:"num_labels"` // static heads
	PeftType     any             `json:"peft_type"`
	BaseModel    any             `json:"base_model_name_or_path"`
	Target       any             `json:"target_modules"`
}

func (m *Model) parseMeta(b []byte, file string) (*meta, error) {
	mt, err := parseMetaNoModel(b, file)
	if err != nil {
		return nil, err
	}
	c := m.Base.Config
	if mt.HiddenSize != nil && *mt.HiddenSize != c.HiddenSize {
		return nil, &MismatchError{File: file, Field: "hidden_size", Got: strconv.Itoa(*mt.HiddenSize), Model: strconv.Itoa(c.HiddenSize), ModelType: c.ModelType}
	}
	if mt.ModelType != "" && c.ModelType != "" && mt.ModelType != c.ModelType {
		return nil, &MismatchError{File: file, Field: "model_type", Got: strconv.Quote(mt.ModelType), Model: strconv.Quote(c.ModelType)}
	}
	return mt, nil
}

// weightsFile parses the first present weight file of the given names.
func weightsFile(files map[string][]byte, path func(string) string, names ...string) (*weights.File, string, error) {
	for _, n := range names {
		if b, ok := files[n]; ok {
			f, err := weights.Parse(path(n), b)
			return f, path(n), err
		}
	}
	return nil, path(names[0]), &FormatError{File: path(names[0]), Reason: "missing (nor " + strings.Join(names[1:], ", ") + ")"}
}

// versionBefore reports whether an "adapters.X.Y.Z" version is older than want (fixes of
// WeightsLoader._fix_backward_compat).
func versionBefore(v string, want [3]int) bool {
	s, ok := strings.CutPrefix(v, "adapters.")
	if !ok {
		return false
	}
	parts := strings.SplitN(s, ".", 4)
	for i := 0; i < 3; i++ {
		n := 0
		if i < len(parts) {
			digits := parts[i]
			for j, c := range digits {
				if c < '0' || c > '9' {
					digits = digits[:j]
					break
				}
			}
			n, _ = strconv.Atoi(digits)
		}
		if n != want[i] {
			return n < want[i]
		}
	}
	return false
}

func (m *Model) parseAdapter(files map[string][]byte, opt LoadOptions, path func(string) string) (*Adapter, error) {
	cfgFile := path(ConfigFile)
	mt, err := m.parseMeta(files[ConfigFile], cfgFile)
	if err != nil {
		return nil, err
	}
	raw, err := decodePy(mt.Config)
	if err != nil {
		return nil, &FormatError{File: cfgFile, Reason: "invalid config: " + err.Error()}
	}
	if obj, ok := raw.(map[string]any); ok {
		if mt.Version == nil {
			// Configs saved before versions were recorded name the tanh GELU "gelu"
			// (WeightsLoaderHelper.load_weights_config, ACTIVATION_RENAME).
			if nl, ok := obj["non_linearity"].(string); ok {
				switch nl {
				case "gelu":
					obj["non_linearity"] = "gelu_new"
				case "gelu_orig":
					obj["non_linearity"] = "gelu"
				}
			}
		} else if versionBefore(*mt.Version, [3]int{1, 1, 0}) && obj["architecture"] == "lora" && !pyEqual(obj["r"], obj["alpha"]) {
			// LoRA scaling was alpha/alpha before adapters 1.1.0: trained that way, run that way.
			obj["alpha"] = obj["r"]
		}
	}
	cfg, err := ParseConfig(raw, cfgFile)
	if err != nil {
		return nil, err
	}
	name := mt.Name
	if opt.Name != "" {
		name = opt.Name
	}
	if name == "" {
		return nil, &FormatError{File: cfgFile, Reason: "no adapter name (set \"name\" or load it under a name)"}
	}
	wf, wfile, err := weightsFile(files, path, SafeWeightsFile, WeightsFile)
	if err != nil {
		return nil, err
	}
	a := &Adapter{Name: name, Config: cfg, ModelName: mt.ModelName, ModelType: mt.ModelType}
	if mt.Version != nil {
		a.Version = *mt.Version
	}
	bd := newBinder(normalizeKeys(m.Base.Layout(), wf.Tensors, mt.Name, name))
	if err := m.bindAdapter(a, bd, wfile); err != nil {
		return nil, err
	}
	if !opt.NoHead {
		if _, ok := files[HeadConfigFile]; ok {
			h, err := m.parseHead(files, opt.Name, name, path)
			if err != nil {
				return nil, err
			}
			a.Head = h
		}
	}
	return a, nil
}

func (m *Model) bindAdapter(a *Adapter, bd *binder, file string) error {
	c := &m.Base.Config
	L, H := c.NumHiddenLayers, c.HiddenSize
	eps := float32(c.LayerNormEps)
	name := a.Name
	a.bn = make([][2]*bottleneck, L)
	a.lora = make([][bert.NumSites]*loraModule, L)
	lay := m.Base.Layout()
	for l := 0; l < L; l++ {
		for r := 0; r < 2; r++ {
			var match *BnConfig
			for _, bc := range a.Config.Bottleneck {
				on := bc.MhAdapter
				if r == 1 {
					on = bc.OutputAdapter
				}
				if on && !leftOut(bc.LeaveOut, l) {
					if match != nil {
						return &FormatError{File: file, Reason: fmt.Sprintf("two bottleneck configs for layer %d %s", l, bert.Residual(r))}
					}
					match = bc
				}
			}
			if match != nil {
				a.bn[l][r] = bindBottleneck(bd, lay.ResidualKey(l, bert.Residual(r))+".adapters."+name+".", "shared_parameters."+name+".", match, H, l, eps)
			}
		}
		for s := bert.Site(0); s < bert.NumSites; s++ {
			var match *LoRAConfig
			for _, lc := range a.Config.LoRA {
				if loraEnabled(lc, s) && !leftOut(lc.LeaveOut, l) {
					if match != nil {
						return &FormatError{File: file, Reason: fmt.Sprintf("two LoRA configs for layer %d %s", l, s)}
					}
					match = lc
				}
			}
			if match != nil {
				in, out := s.Dims(c)
				mod := bindLoRA(bd, lay.SiteKey(l, s)+".loras."+name+".", "shared_parameters."+name+".", match, in, out)
				if match.DoRA {
					// DoRA's norms need the base weights (a stand-in base without layers has none).
					if l >= len(m.Base.Layers) {
						return &UnsupportedError{File: file, What: "DoRA on a base model without weights"}
					}
					if err := mod.bindDoRA(m.Base.Layers[l].Linear(s)); err != nil {
						return err
					}
				}
				a.lora[l][s] = mod
			}
		}
	}
	for _, pc := range a.Config.Prompt {
		a.prompt = bindPrompt(bd, name, pc, H)
	}
	for _, bc := range a.Config.Bottleneck {
		if bc.InvAdapter != "" {
			inv, err := bindInvertible(bd, name, bc, H, c.ModelType, file)
			if err != nil {
				return err
			}
			a.inv = inv
			break
		}
	}
	for _, rc := range a.Config.Reft {
		a.reft = make([]*reftModule, L)
		for l := 0; l < L; l++ {
			if rc.has(l) {
				a.reft[l] = bindReft(bd, lay.LayerKey(l)+".reft_layer.refts."+name+".", rc, H)
			}
		}
	}
	for _, pc := range a.Config.Prefix {
		a.prefix = bindPrefix(bd, "prefix_tuning.prefix_tunings."+name+"."+lay.PrefixLocation+".", pc, c)
		if a.prefix != nil && pc.UseGating {
			a.prefix.bindGates(bd, lay, name, pc, H)
		}
		// The pool is registered inside every layer as well: the same tensors, saved again.
		for k := range bd.ts {
			if strings.Contains(k, ".prefix_tuning.pool.prefix_tunings."+name+".") {
				bd.alias(k)
			}
		}
	}
	if len(bd.problems) == 0 {
		for _, k := range bd.unused(func(k string) bool {
			for _, pat := range []string{".adapters.", "prefix_tunings.", ".prefix_gates.", ".loras.", ".refts.", ".prompt_tunings.", ".shared_parameters."} {
				if strings.Contains(k, pat+name+".") {
					return true
				}
			}
			return strings.Contains(k, "invertible_adapters."+name+".")
		}) {
			bd.problem("unexpected tensor " + k)
		}
	}
	return bd.err(file)
}

func (m *Model) parseHead(files map[string][]byte, loadAs, adapterName string, path func(string) string) (*Head, error) {
	hfile := path(HeadConfigFile)
	mt, err := m.parseMeta(files[HeadConfigFile], hfile)
	if err != nil {
		return nil, err
	}
	var hc HeadConfig
	name := mt.Name
	if loadAs != "" {
		name = loadAs
	}
	var static *staticHead
	if string(mt.Config) == "null" {
		// A head saved from a model class with a static head (BertForSequenceClassification with
		// adapters.init): converted to a flex head as PredictionHeadLoader.load does.
		sh, ok := staticHeads[mt.ModelClass]
		if !ok {
			return nil, &UnsupportedError{File: hfile, What: fmt.Sprintf("static head of model class %q", mt.ModelClass)}
		}
		static, hc = &sh, sh.config
		hc.Label2ID = mt.Label2ID
		n := len(mt.Label2ID)
		if mt.NumLabels != nil {
			n = *mt.NumLabels
		}
		if n == 0 {
			n = 2 // get_head_config_and_rename_list's fallback
		}
		hc.NumLabels = &n
		name = adapterName
	} else if err := json.Unmarshal(mt.Config, &hc); err != nil {
		return nil, &FormatError{File: hfile, Reason: "invalid head config: " + jsonin.Describe(err)}
	}
	wf, wfile, err := weightsFile(files, path, SafeHeadWeightsFile, HeadWeightsFile)
	if err != nil {
		return nil, err
	}
	ts := normalizeKeys(m.Base.Layout(), wf.Tensors, mt.Name, name)
	if static != nil {
		ts = static.rename(ts, name)
	}
	bd := newBinder(ts)
	h, err := bindHead(bd, name, &hc, m.Base.Config.HiddenSize, hfile)
	if err != nil {
		return nil, err
	}
	if err := bd.err(wfile); err != nil {
		return nil, err
	}
	for _, k := range bd.unused(func(k string) bool { return strings.HasPrefix(k, "heads."+name+".") }) {
		bd.problem("unexpected tensor " + k)
	}
	return h, bd.err(wfile)
}

var fusionPresets = map[string]FusionConfig{
	"static":  {Key: true, Query: true, ValueBeforeSoftmax: true},
	"dynamic": {Key: true, Query: true, Value: true, ValueBeforeSoftmax: true},
}

func (m *Model) loadFusion(files map[string][]byte, opt LoadOptions, path func(string) string) (string, error) {
	cfgFile := path(FusionConfigFile)
	mt, err := m.parseMeta(files[FusionConfigFile], cfgFile)
	if err != nil {
		return "", err
	}
	var fc FusionConfig
	var s string
	if json.Unmarshal(mt.Config, &s) == nil {
		p, ok := fusionPresets[s]
		if !ok {
			return "", &FormatError{File: cfgFile, Reason: fmt.Sprintf("unknown fusion config %q", s)}
		}
		fc = p
	} else {
		var raw struct {
			Key, Query, Value  bool
			QueryBeforeLn      bool `json:"query_before_ln"`
			ResidualBefore     bool `json:"residual_before"`
			Temperature        bool `json:"temperature"`
			ValueBeforeSoftmax bool `json:"value_before_softmax"`
		}
		if err := json.Unmarshal(mt.Config, &raw); err != nil {
			return "", &FormatError{File: cfgFile, Reason: "invalid fusion config: " + jsonin.Describe(err)}
		}
		fc = FusionConfig{Key: raw.Key, Query: raw.Query, Value: raw.Value, QueryBeforeLn: raw.QueryBeforeLn,
			ResidualBefore: raw.ResidualBefore, Temperature: raw.Temperature, ValueBeforeSoftmax: raw.ValueBeforeSoftmax}
	}
	names := mt.AdapterNames
	if len(names) == 0 {
		names = strings.Split(mt.Name, ",")
	}
	name := mt.Name
	if opt.Name != "" {
		name = opt.Name
	}
	if name == "" {
		name = strings.Join(names, ",")
	}
	var missing []string
	for _, n := range names {
		if _, ok := m.adapters[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return "", &SetupError{Setup: "Fuse(" + strings.Join(names, ",") + ")", Reason: cfgFile + ": fusion names adapters that are not loaded: " + strings.Join(missing, ", ")}
	}
	wf, wfile, err := weightsFile(files, path, SafeFusionWeightsFile, FusionWeightsFile)
	if err != nil {
		return "", err
	}
	savedName := mt.Name
	if savedName == "" {
		savedName = strings.Join(names, ",")
	}
	bd := newBinder(normalizeKeys(m.Base.Layout(), wf.Tensors, savedName, name))
	c := &m.Base.Config
	f := &Fusion{Name: name, Adapters: names, Config: fc, layers: make([][2]*fusionModule, c.NumHiddenLayers)}
	lay := m.Base.Layout()
	for r := 0; r < 2; r++ {
		// BottleneckLayer.add_fusion_layer: a fusion layer where all fused adapters agree on the
		// location switch (common_config_value) and it is on.
		on := true
		for i, n := range names {
			v := false
			if bcs := m.adapters[n].Config.Bottleneck; len(bcs) > 0 {
				v = bcs[0].MhAdapter
				if r == 1 {
					v = bcs[0].OutputAdapter
				}
			}
			if i == 0 {
				on = v
			} else if v != on {
				return "", &FormatError{File: cfgFile, Reason: "fused adapters disagree on " + []string{"mh_adapter", "output_adapter"}[r]}
			}
		}
		if !on {
			continue
		}
		for l := 0; l < c.NumHiddenLayers; l++ {
			f.layers[l][r] = bindFusion(bd, lay.ResidualKey(l, bert.Residual(r))+".adapter_fusion_layer."+name+".", &f.Config, c.HiddenSize)
		}
	}
	for _, k := range bd.unused(func(k string) bool { return strings.Contains(k, "adapter_fusion_layer."+name+".") }) {
		bd.problem("unexpected tensor " + k)
	}
	if err := bd.err(wfile); err != nil {
		return "", err
	}
	if !opt.NoHead {
		if _, ok := files[HeadConfigFile]; ok {
			h, err := m.parseHead(files, opt.Name, name, path)
			if err != nil {
				return "", err
			}
			f.Head = h
		}
	}
	m.fusions[name] = f
	if f.Head != nil {
		m.heads[f.Head.Name] = f.Head
	}
	return name, nil
}

// staticHead is an entry of STATIC_TO_FLEX_HEAD_MAP (adapters/head_utils.py) for BERT: the flex
// head config a static head becomes, and which static module becomes flex module i.
type staticHead struct {
	config HeadConfig
	layers []string // "" = a module without weights (dropout)
}

var one = 1

var staticHeads = map[string]staticHead{
	"BertForSequenceClassification": {HeadConfig{HeadType: HeadClassification, Layers: &one, UsePooler: true}, []string{"", "classifier"}},
	"BertForTokenClassification":    {HeadConfig{HeadType: HeadTagging, Layers: &one}, []string{"", "classifier"}},
}

// rename maps static module keys ("classifier.weight") to flex head keys ("heads.NAME.1.weight").
func (sh *staticHead) rename(ts map[string]*weights.Tensor, name string) map[string]*weights.Tensor {
	out := make(map[string]*weights.Tensor, len(ts))
	for k, t := range ts {
		for i, mod := range sh.layers {
			if mod != "" && strings.HasPrefix(k, mod+".") {
				k = "heads." + name + "." + strconv.Itoa(i) + "." + strings.TrimPrefix(k, mod+".")
				break
			}
		}
		out[k] = t
	}
	return out
}
