package adapters

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/adapterwasm/adapterwasm/internal/jsonin"
)

// Values of a config are kept with Python's JSON types, because the config id hashes them the
// way Python's json.dumps prints them: nil, bool, string, pyInt, float64, []any, map[string]any.
type pyInt int64

// presetsJSON holds ADAPTER_CONFIG_MAP of adapters/configuration/adapter_config.py, every preset
// as its full to_dict(), written by the reference library (see tools/reference; types preserved).
//
//go:embed presets.json
var presetsJSON []byte

var presets map[string]any

func init() {
	v, err := decodePy(presetsJSON)
	if err != nil {
		panic("adapters: presets.json: " + err.Error())
	}
	presets = v.(map[string]any)
}

// decodePy decodes JSON keeping the int/float distinction of Python's json module.
// It refuses nesting past jsonin.MaxDepth before decoding: decoding into any, and every walker of
// the result (toPy, clonePy, pyJSON), recurses once per level.
func decodePy(b []byte) (any, error) {
	if err := jsonin.CheckDepth(b, jsonin.MaxDepth); err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return toPy(v, "")
}

// toPy turns json.Numbers into pyInt or float64, refusing a number neither holds (an integer
// past int64, a float past ±1.8e308 such as 1e400): it would otherwise become ±Inf and surface
// far from the file, as Inf logits or "json: unsupported value". key names the enclosing key.
func toPy(v any, key string) (any, error) {
	switch x := v.(type) {
	case json.Number:
		s := string(x)
		if !strings.ContainsAny(s, ".eE") {
			i, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return nil, outOfRange(key, s)
			}
			return pyInt(i), nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !isUnderflow(f) {
			return nil, outOfRange(key, s)
		}
		return f, nil
	case []any:
		for i := range x {
			var err error
			if x[i], err = toPy(x[i], key); err != nil {
				return nil, err
			}
		}
		return x, nil
	case map[string]any:
		for k := range x {
			var err error
			if x[k], err = toPy(x[k], k); err != nil {
				return nil, err
			}
		}
		return x, nil
	}
	return v, nil
}

// isUnderflow tells a ParseFloat range error that rounded to zero (1e-400, as Python reads it)
// from one that overflowed to ±Inf.
func isUnderflow(f float64) bool { return f == 0 }

func outOfRange(key, num string) error {
	if key == "" {
		return fmt.Errorf("number %s is out of range", cutEcho(num))
	}
	return fmt.Errorf("%s = %s is out of range", cutEcho(key), cutEcho(num))
}

func clonePy(v any) any {
	switch x := v.(type) {
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = clonePy(x[i])
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = clonePy(e)
		}
		return out
	}
	return v
}

// Config is a parsed adapter configuration (the "config" object of adapter_config.json, or a
// config string such as "lora[r=4]|seq_bn"), split by method. A config union (mam, unipelt,
// "a|b") has several parts; a plain config one.
type Config struct {
	// Raw is the full config dictionary, as the library's to_dict() gives it; the config id
	// (ConfigID) is computed from it.
	Raw map[string]any

	Bottleneck []*BnConfig
	LoRA       []*LoRAConfig
	Prefix     []*PrefixConfig
	Reft       []*ReftConfig
	Prompt     []*PromptConfig
}

// BnConfig is BnConfig of adapters/configuration/adapter_config.py: a bottleneck adapter.
type BnConfig struct {
	MhAdapter, OutputAdapter bool
	// ReductionFactor maps a layer index ("3") or "default" to the reduction factor.
	ReductionFactor         map[string]float64
	NonLinearity            string
	OriginalLnBefore        bool
	OriginalLnAfter         bool
	LnBefore, LnAfter       bool
	IsParallel              bool
	Scaling                 float64 // when ScalingMode == "float"
	ScalingMode             string  // "float", "learned" or "channel"
	UseGating               bool
	ResidualBeforeLn        bool // true, false; see ResidualPostAdd
	ResidualPostAdd         bool // residual_before_ln == "post_add"
	AdapterResidualBeforeLn bool
	InvAdapter              string  // "nice" or "glow": an invertible adapter after the embeddings
	InvReductionFactor      float64 // inv_adapter_reduction_factor, when InvAdapter is set
	LeaveOut                []int
	PHM                     *PHMConfig // phm_layer (Compacter); nil for plain linears
}

// maxLoRARank bounds a LoRA rank r (real ones are 1 to 256).
const maxLoRARank = 1 << 16

// LoRAConfig is LoRAConfig (and IA3Config) of adapters/configuration/adapter_config.py.
type LoRAConfig struct {
	SelfAttn, Intermediate, Output bool
	LeaveOut                       []int
	R                              int
	Alpha                          float64
	AttnMatrices                   []string
	Scale                          bool // composition_mode "scale": (IA)^3
	UseGating                      bool
	// Vera: vera_d or vera_b is a float (LoRALayer.add_adapter picks Vera by isinstance(…, float)):
	// shared random lora_A/lora_B with learned vera_D, vera_B per layer (vera.go).
	Vera bool
	// DoRA: use_dora, a learned magnitude m per output rescales the composed output (dora.go).
	DoRA bool
	// MTL is set for MTLLoRAConfig (architecture "mtl_lora", methods/lora.py MTLLoRA): lora_B holds
	// NUpProjection up-projections mixed by softmax-like weights exp(weights/WeightsSharpness),
	// and a task-specific diagonal (task_specific.values) sits between lora_A and lora_B.
	MTL              bool
	NUpProjection    int
	WeightsSharpness float64
}

// PrefixConfig is PrefixTuningConfig of adapters/configuration/adapter_config.py.
type PrefixConfig struct {
	LeaveOut       []int
	Flat           bool
	PrefixLength   int
	BottleneckSize int
	NonLinearity   string
	// UseGating adds a gate per layer on the attention input (UniPELT): prefix_gates.NAME, one
	// output shared by keys and values (SharedGating, the default) or one each.
	UseGating, SharedGating bool
}

// Method names the adaptation method(s) of the config: "bottleneck", "lora", "ia3",
// "prefix_tuning", or several joined by "+" for a union.
func (c *Config) Method() string {
	var parts []string
	for range c.Bottleneck {
		parts = append(parts, "bottleneck")
	}
	for _, l := range c.LoRA {
		switch {
		case l.Scale:
			parts = append(parts, "ia3")
		case l.Vera && l.DoRA:
			parts = append(parts, "dvora")
		case l.Vera:
			parts = append(parts, "vera")
		case l.DoRA:
			parts = append(parts, "dora")
		case l.MTL:
			parts = append(parts, "mtl_lora")
		default:
			parts = append(parts, "lora")
		}
	}
	for range c.Prefix {
		parts = append(parts, "prefix_tuning")
	}
	for range c.Reft {
		parts = append(parts, "reft")
	}
	for range c.Prompt {
		parts = append(parts, "prompt_tuning")
	}
	return strings.Join(parts, "+")
}

// ConfigID is AdapterHub's config hash (adapters/utils.py get_adapter_config_hash): the first
// 16 hex digits of SHA-1 over the sorted-key JSON of the config without falsy values and
// without a few v3 keys at their defaults.
func (c *Config) ConfigID() string { return ConfigHash(c.Raw) }

// ParseConfig parses a config: a JSON object (the "config" value of adapter_config.json) or a
// JSON string holding a config string ("seq_bn", "lora[r=4]|seq_bn"). file names the source
// in errors.
func ParseConfig(raw any, file string) (*Config, error) {
	var full map[string]any
	switch v := raw.(type) {
	case string:
		m, err := resolveConfigString(v)
		if err != nil {
			return nil, &FormatError{File: file, Reason: err.Error()}
		}
		full = m
	case map[string]any:
		full = v
	case nil:
		return nil, &FormatError{File: file, Reason: `"config" is null`}
	default:
		return nil, &FormatError{File: file, Reason: fmt.Sprintf(`"config" is %s, want an object or a config string`, pyRepr(raw))}
	}
	c := &Config{Raw: full}
	if err := c.addPart(full, file, true); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Config) addPart(m map[string]any, file string, top bool) error {
	arch, _ := m["architecture"].(string)
	if m["architecture"] != nil && arch == "" {
		return &FormatError{File: file, Reason: "architecture is " + pyRepr(m["architecture"])}
	}
	p := &cfgReader{m: m, file: file}
	switch arch {
	case "", "bottleneck":
		bn := p.bottleneck()
		if p.err != nil {
			return p.err
		}
		c.Bottleneck = append(c.Bottleneck, bn)
	case "lora":
		l := p.lora()
		if p.err != nil {
			return p.err
		}
		c.LoRA = append(c.LoRA, l)
	case "prefix_tuning":
		pc := p.prefix()
		if p.err != nil {
			return p.err
		}
		c.Prefix = append(c.Prefix, pc)
	case "reft":
		rc := p.reft()
		if p.err != nil {
			return p.err
		}
		c.Reft = append(c.Reft, rc)
	case "prompt_tuning":
		pc := p.prompt()
		if p.err != nil {
			return p.err
		}
		c.Prompt = append(c.Prompt, pc)
	case "union":
		if !top {
			return &FormatError{File: file, Reason: "a config union inside a config union"}
		}
		list, ok := m["configs"].([]any)
		if !ok || len(list) == 0 {
			return &FormatError{File: file, Reason: `union config without "configs"`}
		}
		// validateUnion compares every pair of parts: 300,000 parts took 40 s (231 s in Wasm).
		if len(list) > maxUnionParts {
			return &FormatError{File: file, Reason: fmt.Sprintf("config union of %d configs; a union has at most %d", len(list), maxUnionParts)}
		}
		for _, e := range list {
			sub, ok := e.(map[string]any)
			if !ok {
				return &FormatError{File: file, Reason: "union member is not an object"}
			}
			if err := c.addPart(sub, file, false); err != nil {
				return err
			}
		}
		return c.validateUnion(file)
	case "mtl_lora":
		l := p.mtlLoRA()
		if p.err != nil {
			return p.err
		}
		c.LoRA = append(c.LoRA, l)
	default:
		return &UnsupportedError{File: file, What: "architecture " + strconv.Quote(arch)}
	}
	return nil
}

// validateUnion mirrors ConfigUnion.validate: two parts of one architecture only combine if they
// leave layers out or (bottleneck) sit at different locations.
func (c *Config) validateUnion(file string) error {
	bad := func() error {
		return &FormatError{File: file, Reason: "config union combines two configs of the same architecture"}
	}
	for i, a := range c.Bottleneck {
		for _, b := range c.Bottleneck[:i] {
			if len(a.LeaveOut) > 0 || len(b.LeaveOut) > 0 {
				continue
			}
			if a.MhAdapter == b.MhAdapter || a.OutputAdapter == b.OutputAdapter {
				return bad()
			}
		}
	}
	for i, a := range c.LoRA {
		for _, b := range c.LoRA[:i] {
			if len(a.LeaveOut) == 0 && len(b.LeaveOut) == 0 {
				return bad()
			}
		}
	}
	if len(c.Reft) > 1 || len(c.Prompt) > 1 {
		return &UnsupportedError{File: file, What: "a config union of several ReFT or prompt-tuning configs"}
	}
	for i, a := range c.Prefix {
		for _, b := range c.Prefix[:i] {
			if len(a.LeaveOut) == 0 && len(b.LeaveOut) == 0 {
				return bad()
			}
		}
	}
	return nil
}

// cfgReader reads typed fields and keeps the first error.
type cfgReader struct {
	m    map[string]any
	file string
	err  error
}

func (p *cfgReader) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

func (p *cfgReader) bad(key string, v any, want string) {
	p.fail(&FormatError{File: p.file, Reason: fmt.Sprintf("config %s = %s, want %s", key, pyRepr(v), want)})
}

func (p *cfgReader) boolean(key string, def bool) bool {
	v, ok := p.m[key]
	if !ok || v == nil {
		return def
	}
	b, ok := v.(bool)
	if !ok {
		p.bad(key, v, "a boolean")
	}
	return b
}

func (p *cfgReader) required(key string) bool {
	if _, ok := p.m[key]; !ok {
		p.fail(&FormatError{File: p.file, Reason: "config has no " + strconv.Quote(key)})
		return false
	}
	return true
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case pyInt:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

func (p *cfgReader) num(key string, def float64) float64 {
	v, ok := p.m[key]
	if !ok || v == nil {
		return def
	}
	f, ok := number(v)
	if !ok {
		p.bad(key, v, "a number")
	}
	return f
}

// maxConfigScale bounds the magnitude of a config's multipliers (bottleneck scaling, LoRA alpha):
// real ones are at most a few hundred, and a larger one turns activations into ±Inf.
const maxConfigScale = 1e6

// scale reads a finite number of magnitude at most maxConfigScale.
func (p *cfgReader) scale(key string, def float64) float64 {
	f := p.num(key, def)
	if math.IsNaN(f) || math.Abs(f) > maxConfigScale {
		p.bad(key, p.m[key], fmt.Sprintf("a number of magnitude at most %g", float64(maxConfigScale)))
		return def
	}
	return f
}

// integer reads a whole number in [lo, hi] (an integral float such as 4.0 counts).
func (p *cfgReader) integer(key string, def, lo, hi int) int {
	f := p.num(key, float64(def))
	if f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		p.bad(key, p.m[key], fmt.Sprintf("an integer from %d to %d", lo, hi))
		return def
	}
	return int(f)
}

func (p *cfgReader) str(key, def string) string {
	v, ok := p.m[key]
	if !ok || v == nil {
		return def
	}
	s, ok := v.(string)
	if !ok {
		p.bad(key, v, "a string")
	}
	return s
}

func (p *cfgReader) ints(key string) []int {
	v, ok := p.m[key]
	if !ok || v == nil {
		return nil
	}
	l, ok := v.([]any)
	if !ok {
		p.bad(key, v, "a list of layer indices")
		return nil
	}
	out := make([]int, 0, len(l))
	for _, e := range l {
		i, ok := e.(pyInt)
		if !ok {
			p.bad(key, v, "a list of layer indices")
			return nil
		}
		out = append(out, int(i))
	}
	return out
}

func (p *cfgReader) unsupportedIf(cond bool, what string) {
	if cond {
		p.fail(&UnsupportedError{File: p.file, What: what})
	}
}

func (p *cfgReader) bottleneck() *BnConfig {
	for _, k := range []string{"mh_adapter", "output_adapter", "reduction_factor", "non_linearity"} {
		p.required(k)
	}
	c := &BnConfig{
		MhAdapter:               p.boolean("mh_adapter", false),
		OutputAdapter:           p.boolean("output_adapter", false),
		NonLinearity:            strings.ToLower(p.str("non_linearity", "")),
		OriginalLnBefore:        p.boolean("original_ln_before", false),
		OriginalLnAfter:         p.boolean("original_ln_after", true),
		LnBefore:                p.boolean("ln_before", false),
		LnAfter:                 p.boolean("ln_after", false),
		IsParallel:              p.boolean("is_parallel", false),
		UseGating:               p.boolean("use_gating", false),
		AdapterResidualBeforeLn: p.boolean("adapter_residual_before_ln", false),
		InvAdapter:              p.str("inv_adapter", ""),
		LeaveOut:                p.ints("leave_out"),
	}
	if nested, ok := p.m["invertible_adapter"].(map[string]any); ok && c.InvAdapter == "" {
		// adapter-transformers v1 nested the invertible adapter config (BnConfig.__setattr__).
		c.InvAdapter, _ = nested["block_type"].(string)
		c.InvReductionFactor, _ = number(nested["reduction_factor"])
	} else if c.InvAdapter != "" {
		c.InvReductionFactor = p.num("inv_adapter_reduction_factor", 0)
	}
	switch c.InvAdapter {
	case "":
	case "nice", "glow":
		// The library builds each subnet as Linear(n, int(n // rf)): refuse what would give it no
		// units (or a None / non-positive factor, on which it fails).
		if !(c.InvReductionFactor >= minReductionFactor) && p.err == nil {
			p.bad("inv_adapter_reduction_factor", p.m["inv_adapter_reduction_factor"], fmt.Sprintf("a number of at least %g", minReductionFactor))
		}
	default:
		p.bad("inv_adapter", c.InvAdapter, `"nice" or "glow"`)
	}
	switch v := p.m["residual_before_ln"].(type) {
	case nil:
		c.ResidualBeforeLn = true
	case bool:
		c.ResidualBeforeLn = v
	case string:
		if v != "post_add" {
			p.bad("residual_before_ln", v, `true, false or "post_add"`)
		}
		c.ResidualBeforeLn, c.ResidualPostAdd = true, true
	default:
		p.bad("residual_before_ln", v, `true, false or "post_add"`)
	}
	switch v := p.m["scaling"].(type) {
	case nil:
		c.ScalingMode, c.Scaling = "float", 1
	case string:
		if v != "learned" && v != "channel" {
			p.bad("scaling", v, `a number, "learned" or "channel"`)
		}
		c.ScalingMode = v
	default:
		if _, ok := number(v); !ok {
			p.bad("scaling", v, `a number, "learned" or "channel"`)
		}
		c.ScalingMode, c.Scaling = "float", p.scale("scaling", 1)
	}
	c.ReductionFactor = map[string]float64{}
	switch v := p.m["reduction_factor"].(type) {
	case map[string]any:
		for k, e := range v {
			f, ok := number(e)
			if !ok || !(f >= minReductionFactor) {
				p.bad("reduction_factor", v, fmt.Sprintf("numbers of at least %g", minReductionFactor))
			}
			c.ReductionFactor[k] = f
		}
	default:
		f, ok := number(v)
		if !ok || !(f >= minReductionFactor) {
			p.bad("reduction_factor", v, fmt.Sprintf("a number of at least %g or a per-layer mapping", minReductionFactor))
		}
		c.ReductionFactor["default"] = f
	}
	if p.boolean("phm_layer", false) {
		c.PHM = &PHMConfig{
			Dim:            p.integer("phm_dim", 4, 1, 64),
			Rank:           p.integer("phm_rank", 1, 1, 4096),
			FactorizedW:    p.boolean("factorized_phm_W", true),
			SharedW:        p.boolean("shared_W_phm", false),
			SharedRule:     p.boolean("shared_phm_rule", true),
			FactorizedRule: p.boolean("factorized_phm_rule", false),
			Bias:           p.boolean("phm_bias", true),
		}
	}
	if _, err := activation(c.NonLinearity); err != nil && p.err == nil {
		p.fail(&UnsupportedError{File: p.file, What: "non_linearity " + strconv.Quote(c.NonLinearity)})
	}
	return c
}

// minReductionFactor bounds the bottleneck width hidden_size/reduction_factor to 1024 times the
// hidden size (real factors are 1/2 to 64), so that the width is a small int, not ±Inf.
const minReductionFactor = 1.0 / 1024

// reduction returns the reduction factor for layer l (BottleneckLayer.add_adapter).
func (c *BnConfig) reduction(l int) (float64, bool) {
	if f, ok := c.ReductionFactor[strconv.Itoa(l)]; ok {
		return f, true
	}
	f, ok := c.ReductionFactor["default"]
	return f, ok
}

func (p *cfgReader) lora() *LoRAConfig {
	c := &LoRAConfig{
		SelfAttn:     p.boolean("selfattn_lora", true),
		Intermediate: p.boolean("intermediate_lora", false),
		Output:       p.boolean("output_lora", false),
		LeaveOut:     p.ints("leave_out"),
		R:            p.integer("r", 8, 1, maxLoRARank),
		Alpha:        p.scale("alpha", 8),
		UseGating:    p.boolean("use_gating", false),
	}
	c.AttnMatrices = []string{"q", "v"}
	if v, ok := p.m["attn_matrices"]; ok && v != nil {
		l, ok := v.([]any)
		if !ok {
			p.bad("attn_matrices", v, `a list of "q", "k", "v"`)
		}
		c.AttnMatrices = c.AttnMatrices[:0]
		for _, e := range l {
			s, _ := e.(string)
			if s != "q" && s != "k" && s != "v" {
				p.bad("attn_matrices", v, `a list of "q", "k", "v"`)
			}
			c.AttnMatrices = append(c.AttnMatrices, s)
		}
	}
	switch mode := p.str("composition_mode", "add"); mode {
	case "add":
	case "scale":
		c.Scale = true
		if c.R > 1 {
			p.fail(&FormatError{File: p.file, Reason: "composition_mode scale ((IA)^3) needs r == 1"})
		}
	default:
		p.bad("composition_mode", mode, `"add" or "scale"`)
	}
	c.DoRA = p.boolean("use_dora", false)
	_, vd := p.m["vera_d"].(float64)
	_, vb := p.m["vera_b"].(float64)
	c.Vera = (vd || vb) && !c.Scale
	if c.DoRA && c.Scale {
		p.fail(&FormatError{File: p.file, Reason: "composition_mode scale ((IA)^3) does not support use_dora"})
	}
	return c
}

// maxUpProjections bounds n_up_projection: each is a full [out, r] matrix per wrapped linear.
const maxUpProjections = 1024

// mtlLoRA reads an MTLLoRAConfig (configuration/adapter_config.py): a LoRAConfig plus
// n_up_projection, task_specific_matrix_type and weights_sharpness. LoRALayer.add_adapter builds an
// MTLLoRA module for composition_mode "add" whatever vera_d/vera_b say, and IA3 for "scale".
func (p *cfgReader) mtlLoRA() *LoRAConfig {
	c := p.lora()
	if p.err != nil || c.Scale {
		return c
	}
	c.Vera = false
	c.MTL = true
	c.NUpProjection = p.integer("n_up_projection", 1, 1, maxUpProjections)
	c.WeightsSharpness = p.scale("weights_sharpness", 0.05)
	switch t := p.str("task_specific_matrix_type", "singular_values"); t {
	case "singular_values":
	case "linear":
		// TaskSpecificLinear.__init__ never calls nn.Module.__init__: the library cannot build it.
		p.fail(&UnsupportedError{File: p.file, What: `mtl_lora task_specific_matrix_type "linear" (the reference library's TaskSpecificLinear cannot be built: AttributeError)`})
	default:
		p.bad("task_specific_matrix_type", t, `"singular_values" or "linear"`)
	}
	if c.DoRA {
		// MTLLoRA passes no base weight to LoRA.__init__, which needs it for use_dora (KeyError 'w_o').
		p.fail(&UnsupportedError{File: p.file, What: "mtl_lora with use_dora (the reference library cannot build it: KeyError 'w_o')"})
	}
	if c.WeightsSharpness == 0 {
		p.bad("weights_sharpness", c.WeightsSharpness, "a non-zero number")
	}
	return c
}

func (p *cfgReader) prefix() *PrefixConfig {
	c := &PrefixConfig{
		LeaveOut:       p.ints("leave_out"),
		Flat:           p.boolean("flat", false),
		PrefixLength:   p.integer("prefix_length", 30, 1, 4096),
		BottleneckSize: p.integer("bottleneck_size", 512, 1, 1<<16),
		NonLinearity:   strings.ToLower(p.str("non_linearity", "tanh")),
		UseGating:      p.boolean("use_gating", false),
		SharedGating:   p.boolean("shared_gating", true),
	}
	if _, err := activation(c.NonLinearity); err != nil && !c.Flat {
		p.fail(&UnsupportedError{File: p.file, What: "non_linearity " + strconv.Quote(c.NonLinearity)})
	}
	return c
}

func leftOut(leaveOut []int, l int) bool {
	for _, x := range leaveOut {
		if x == l {
			return true
		}
	}
	return false
}

// maxUnionParts bounds the configs of a union, in a config string ("a|b|…") or a JSON config
// ("architecture": "union"): one per architecture and location would do.
const maxUnionParts = 16

// resolveConfigString resolves a config string (utils.py resolve_adapter_config /
// parse_adapter_config_string): preset names from ADAPTER_CONFIG_MAP, optionally with
// "[key=value, …]" overrides, joined by "|" into a config union.
func resolveConfigString(s string) (map[string]any, error) {
	if p, ok := presets[s]; ok {
		return clonePy(p).(map[string]any), nil
	}
	var parts []map[string]any
	chunks := strings.Split(s, "|")
	// A union holds one config per architecture (validateUnion); refuse a long one before
	// cloning a preset per part ("lora|lora|…" of 5 MB asked for 1.5 GB).
	if len(chunks) > maxUnionParts {
		return nil, fmt.Errorf("adapter config string joins %d configs; a union has at most %d", len(chunks), maxUnionParts)
	}
	for _, chunk := range chunks {
		chunk = strings.TrimSpace(chunk)
		name, kvs := chunk, ""
		if i := strings.IndexByte(chunk, '['); i >= 0 {
			if !strings.HasSuffix(chunk, "]") {
				return nil, fmt.Errorf("invalid adapter config string %s", quoteEcho(chunk))
			}
			name, kvs = chunk[:i], chunk[i+1:len(chunk)-1]
		}
		if name == "" || strings.ContainsAny(name, "[]\n") {
			return nil, fmt.Errorf("invalid adapter config string %s", quoteEcho(chunk))
		}
		p, ok := presets[name]
		if !ok {
			return nil, fmt.Errorf("could not identify %s as a valid adapter configuration", quoteEcho(name))
		}
		base := clonePy(p).(map[string]any)
		kw, err := parseKwargs(kvs)
		if err != nil {
			return nil, fmt.Errorf("invalid adapter configuration %s in %s: %v", quoteEcho(kvs), quoteEcho(name), err)
		}
		targets := []map[string]any{base}
		if base["architecture"] == "union" {
			targets = nil
			for _, c := range base["configs"].([]any) {
				targets = append(targets, c.(map[string]any))
			}
		}
		for _, t := range targets {
			for k, v := range kw {
				if _, ok := t[k]; !ok {
					return nil, fmt.Errorf("%s has no config key %s", name, quoteEcho(k))
				}
				t[k] = v
			}
		}
		if base["architecture"] == "union" {
			for _, c := range base["configs"].([]any) {
				parts = append(parts, c.(map[string]any))
			}
		} else {
			parts = append(parts, base)
		}
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	cs := make([]any, len(parts))
	for i := range parts {
		cs[i] = parts[i]
	}
	return map[string]any{"architecture": "union", "configs": cs}, nil
}

// parseKwargs parses "k=v, k2=v2" where values are Python literals (numbers, strings, True,
// False, None, lists).
func parseKwargs(s string) (map[string]any, error) {
	out := map[string]any{}
	lx := &pyLexer{s: s}
	for {
		lx.space()
		if lx.eof() {
			return out, nil
		}
		key := lx.ident()
		if key == "" {
			return nil, fmt.Errorf("expected a key at %s", quoteEcho(lx.rest()))
		}
		lx.space()
		if !lx.take('=') {
			return nil, fmt.Errorf("expected = after %s", cutEcho(key))
		}
		v, err := lx.value(0)
		if err != nil {
			return nil, err
		}
		out[key] = v
		lx.space()
		if !lx.take(',') && !lx.eof() {
			return nil, fmt.Errorf("expected , at %s", quoteEcho(lx.rest()))
		}
	}
}

type pyLexer struct {
	s string
	i int
}

func (l *pyLexer) eof() bool    { return l.i >= len(l.s) }
func (l *pyLexer) rest() string { return l.s[l.i:] }
func (l *pyLexer) space() {
	for l.i < len(l.s) && (l.s[l.i] == ' ' || l.s[l.i] == '\t') {
		l.i++
	}
}
func (l *pyLexer) take(c byte) bool {
	if l.i < len(l.s) && l.s[l.i] == c {
		l.i++
		return true
	}
	return false
}
func (l *pyLexer) ident() string {
	j := l.i
	for j < len(l.s) && (l.s[j] == '_' || l.s[j] >= 'a' && l.s[j] <= 'z' || l.s[j] >= 'A' && l.s[j] <= 'Z' || l.s[j] >= '0' && l.s[j] <= '9') {
		j++
	}
	id := l.s[l.i:j]
	l.i = j
	return id
}

// maxLiteralDepth bounds how deeply lists nest in a config-string value: value recurses once
// per "[", and a config string is as long as its file.
const maxLiteralDepth = 64

// value reads a Python literal nested depth lists deep.
func (l *pyLexer) value(depth int) (any, error) {
	l.space()
	if l.eof() {
		return nil, fmt.Errorf("missing value")
	}
	switch c := l.s[l.i]; {
	case c == '\'' || c == '"':
		j := strings.IndexByte(l.s[l.i+1:], c)
		if j < 0 {
			return nil, fmt.Errorf("unterminated string")
		}
		v := l.s[l.i+1 : l.i+1+j]
		l.i += j + 2
		return v, nil
	case c == '[':
		if depth >= maxLiteralDepth {
			return nil, fmt.Errorf("lists nest deeper than %d", maxLiteralDepth)
		}
		l.i++
		var list []any
		for {
			l.space()
			if l.take(']') {
				if list == nil {
					list = []any{}
				}
				return list, nil
			}
			v, err := l.value(depth + 1)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
			l.space()
			if !l.take(',') && (l.eof() || l.s[l.i] != ']') {
				return nil, fmt.Errorf("expected , or ] in list")
			}
		}
	case c == '-' || c == '+' || c == '.' || c >= '0' && c <= '9':
		j := l.i + 1
		for j < len(l.s) && strings.IndexByte("0123456789.eE+-_", l.s[j]) >= 0 {
			j++
		}
		lit := l.s[l.i:j]
		l.i = j
		if !strings.ContainsAny(lit, ".eE") {
			n, err := strconv.ParseInt(lit, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("bad number %s", quoteEcho(lit))
			}
			return pyInt(n), nil
		}
		f, err := strconv.ParseFloat(lit, 64)
		if err != nil {
			return nil, fmt.Errorf("bad number %s", quoteEcho(lit))
		}
		return f, nil
	default:
		switch id := l.ident(); id {
		case "True":
			return true, nil
		case "False":
			return false, nil
		case "None":
			return nil, nil
		default:
			return nil, fmt.Errorf("unsupported value %s", quoteEcho(id))
		}
	}
}

// maxEcho is how many bytes of a value from a file an error message repeats.
const maxEcho = 64

// pyRepr formats a value roughly as Python would, for error messages, cut to maxEcho bytes.
// Values come from JSON checked by jsonin.CheckDepth (or the config-string lexer's own bound), so the
// walk is bounded in depth; a wide value is formatted whole, then cut.
func pyRepr(v any) string {
	b, _ := pyJSON(nil, v)
	return cutEcho(string(b))
}

// cutEcho cuts s, text from a file, to maxEcho bytes (on a rune boundary) for an error message.
func cutEcho(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	i := maxEcho
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// quoteEcho is strconv.Quote of s cut by cutEcho.
func quoteEcho(s string) string {
	if c := cutEcho(s); c != s {
		return strconv.Quote(strings.TrimSuffix(c, "…")) + "…"
	}
	return strconv.Quote(s)
}

// sortedKeys returns the keys of m in sorted order.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// MaxReftRank bounds a ReFT intervention's rank r (the orthogonal map costs hidden²·r at load).
const MaxReftRank = 256

// ReftConfig is ReftConfig (LoReftConfig, NoReftConfig, DiReftConfig) of
// adapters/configuration/adapter_config.py: interventions on the first and last positions of
// each layer's output.
type ReftConfig struct {
	Layers                           []int // nil: "all"
	PrefixPositions, SuffixPositions int
	R                                int
	Orthogonality, TiedWeights       bool
	NonLinearity                     string // "": none (identity)
}

func (p *cfgReader) reft() *ReftConfig {
	c := &ReftConfig{
		PrefixPositions: p.integer("prefix_positions", 3, 0, 1<<16),
		SuffixPositions: p.integer("suffix_positions", 0, 0, 1<<16),
		R:               p.integer("r", 1, 1, MaxReftRank),
		Orthogonality:   p.boolean("orthogonality", false),
		TiedWeights:     p.boolean("tied_weights", false),
		NonLinearity:    strings.ToLower(p.str("non_linearity", "")),
	}
	if v, ok := p.m["layers"]; ok && v != "all" {
		c.Layers = p.ints("layers")
		if c.Layers == nil {
			c.Layers = []int{}
		}
	}
	if _, err := activation(c.NonLinearity); err != nil && c.NonLinearity != "" {
		p.fail(&UnsupportedError{File: p.file, What: "non_linearity " + strconv.Quote(c.NonLinearity)})
	}
	return c
}

// has reports whether the intervention sits at layer l (ReftLayer.add_adapter).
func (c *ReftConfig) has(l int) bool {
	if c.Layers == nil {
		return true
	}
	for _, x := range c.Layers {
		if x == l {
			return true
		}
	}
	return false
}

// MaxPromptLength bounds prompt_length (the prompt joins every sequence's positions).
const MaxPromptLength = 4096

// PromptConfig is PromptTuningConfig of adapters/configuration/adapter_config.py.
type PromptConfig struct {
	PromptLength int
	AfterBOS     bool // combine "prefix_after_bos" (else "prefix")
}

func (p *cfgReader) prompt() *PromptConfig {
	c := &PromptConfig{PromptLength: p.integer("prompt_length", 10, 1, MaxPromptLength)}
	switch comb := p.str("combine", "prefix"); comb {
	case "prefix":
	case "prefix_after_bos":
		c.AfterBOS = true
	default:
		p.bad("combine", comb, `"prefix" or "prefix_after_bos"`)
	}
	return c
}
