package train

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/adapterwasm/adapterwasm/adapters"
	"github.com/adapterwasm/adapterwasm/runtime/weights"
)

// LibraryVersion is the "version" the saved configs carry: the adapters release whose format
// and numbers the trainer follows (utils.py's get_adapter_info writes "adapters.<version>").
const LibraryVersion = "adapters.1.3.0"

// Formats of the weight files Files writes.
const (
	FormatBin         = "bin"         // pytorch_adapter.bin, pytorch_model_head.bin (save_adapter's default)
	FormatSafetensors = "safetensors" // adapter.safetensors, model_head.safetensors (use_safetensors=True)
)

// Files returns the adapter directory save_adapter + save_head write for the trained adapter:
// adapter_config.json (the full config as the library resolves the config string, with its
// version field), the adapter weights, head_config.json and the head weights, keyed by file
// name. Package adapters and the library (load_adapter; with use_safetensors=True for the
// safetensors copy) load it unchanged.
func (t *Trainer) Files(format string) (map[string][]byte, error) {
	c := &t.Base.Config
	modelType := c.ModelType
	if modelType == "" {
		modelType = "bert" // a Config built by hand runs as BERT (bert.Model.Arch)
	}
	meta := func(config any) map[string]any {
		return map[string]any{
			"config":      config,
			"hidden_size": c.HiddenSize,
			"model_class": t.Base.AdapterModelClass(),
			"model_name":  t.Opt.ModelName,
			"model_type":  modelType,
			"name":        t.Name,
			"version":     LibraryVersion,
		}
	}
	files := map[string][]byte{}
	ac, err := adapters.PyJSONIndent(meta(t.Config.Raw))
	if err != nil {
		return nil, err
	}
	files["adapter_config.json"] = ac
	hs := t.head.spec
	label2id := map[string]any{}
	for i, l := range hs.Labels {
		label2id[l] = i
	}
	hc, err := adapters.PyJSONIndent(meta(map[string]any{
		"activation_function": hs.Activation,
		"bias":                !hs.NoBias,
		"dropout_prob":        nil,
		"head_type":           hs.Type,
		"label2id":            label2id,
		"layers":              hs.Layers,
		"num_labels":          len(hs.Labels),
		"use_pooler":          hs.UsePooler,
	}))
	if err != nil {
		return nil, err
	}
	files["head_config.json"] = hc
	var ad, hd []*Param
	for _, p := range t.params {
		if strings.HasPrefix(p.Name, "heads.") {
			hd = append(hd, p)
		} else {
			ad = append(ad, p)
		}
	}
	switch format {
	case FormatBin, "":
		if files["pytorch_adapter.bin"], err = binFile(ad); err != nil {
			return nil, err
		}
		if files["pytorch_model_head.bin"], err = binFile(hd); err != nil {
			return nil, err
		}
	case FormatSafetensors:
		if files["adapter.safetensors"], err = stFile(ad); err != nil {
			return nil, err
		}
		if files["model_head.safetensors"], err = stFile(hd); err != nil {
			return nil, err
		}
	default:
		return nil, &ConfigError{Reason: fmt.Sprintf("weights format %q, want %q or %q", format, FormatBin, FormatSafetensors)}
	}
	return files, nil
}

func binFile(ps []*Param) ([]byte, error) {
	var names []string
	var shapes [][]int
	var values [][]float32
	for _, p := range ps {
		names = append(names, p.Name)
		shapes = append(shapes, p.Shape)
		values = append(values, p.W)
	}
	return torchSave(names, shapes, values)
}

func stFile(ps []*Param) ([]byte, error) {
	var ts []*weights.Tensor
	for _, p := range ps {
		b := make([]byte, 4*len(p.W))
		for i, v := range p.W {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		ts = append(ts, &weights.Tensor{Name: p.Name, DType: weights.F32, Shape: p.Shape, Data: b})
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	var buf bytes.Buffer
	if err := weights.WriteSafetensors(&buf, ts, map[string]string{"format": "pt"}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Save writes Files(format) into dir (created if missing), each file through a temporary name
// renamed into place, so that a cut run leaves no half-written file under the final name.
func (t *Trainer) Save(dir, format string) error {
	files, err := t.Files(format)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		tmp := filepath.Join(dir, "."+n+".tmp")
		if err := os.WriteFile(tmp, files[n], 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, filepath.Join(dir, n)); err != nil {
			return err
		}
	}
	return nil
}
