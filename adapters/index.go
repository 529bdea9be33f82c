package adapters

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/adapterwasm/adapterwasm/internal/jsonin"
)

// IndexVersion is the version of the index.json format written by BuildIndex (see README.md).
const IndexVersion = 1

// Index is a static adapter registry (index.json): our equivalent of the AdapterHub index that
// list_adapters used to read. See adapters/README.md for the format.
type Index struct {
	Version  int          `json:"version"`
	Adapters []IndexEntry `json:"adapters"`
}

// IndexEntry describes one adapter or fusion directory.
type IndexEntry struct {
	ID         string          `json:"id"`   // directory relative to the index, "/"-separated; unique
	Name       string          `json:"name"` // adapter (or fusion) name it loads under
	Path       string          `json:"path"` // = ID: where the files are, relative to index.json
	Kind       string          `json:"kind"` // "adapter" or "fusion"
	ModelName  string          `json:"model_name,omitempty"`
	ModelType  string          `json:"model_type,omitempty"`
	HiddenSize int             `json:"hidden_size,omitempty"`
	Method     string          `json:"method"`              // "bottleneck", "lora", "ia3", "prefix_tuning", "a+b" (union), "fusion"
	ConfigID   string          `json:"config_id,omitempty"` // AdapterHub config hash (16 hex)
	Config     json.RawMessage `json:"config,omitempty"`    // the config as saved (number spellings kept, so the id can be recomputed)
	Version    string          `json:"version,omitempty"`   // library version that saved it
	Task       string          `json:"task,omitempty"`      // head type: classification, multilabel_classification, tagging
	Labels     []string        `json:"labels,omitempty"`    // head labels in id order
	Head       *IndexHead      `json:"head,omitempty"`
	Fuses      []string        `json:"fuses,omitempty"` // fusion: the fused adapters
	Size       int64           `json:"size"`            // total bytes of Files
	Files      []IndexFile     `json:"files"`
}

// IndexHead summarizes head_config.json.
type IndexHead struct {
	Name      string   `json:"name"`
	Type      string   `json:"type"`
	NumLabels int      `json:"num_labels"`
	Labels    []string `json:"labels,omitempty"`
	Layers    int      `json:"layers,omitempty"`
	UsePooler bool     `json:"use_pooler,omitempty"`
}

// IndexFile is one file of an adapter directory.
type IndexFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// FindAdapterDirs returns every directory under root (root included) that holds an
// adapter_config.json or adapter_fusion_config.json, sorted.
func FindAdapterDirs(root string) ([]string, error) {
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if n := d.Name(); n == ConfigFile || n == FusionConfigFile {
			dirs = append(dirs, filepath.Dir(p))
		}
		return nil
	})
	sort.Strings(dirs)
	out := dirs[:0]
	for i, d := range dirs {
		if i == 0 || d != dirs[i-1] {
			out = append(out, d)
		}
	}
	return out, err
}

// IndexDir describes one adapter or fusion directory; rel is its path relative to the index.
// It reads configs and hashes files but binds no weights, so it needs no base model.
func IndexDir(dir, rel string) (*IndexEntry, error) {
	rel = filepath.ToSlash(rel)
	e := &IndexEntry{ID: rel, Path: rel}
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, name)) }
	if b, err := read(ConfigFile); err == nil {
		mt, err := parseMetaNoModel(b, filepath.Join(dir, ConfigFile))
		if err != nil {
			return nil, err
		}
		raw, err := decodePy(mt.Config)
		if err != nil {
			return nil, &FormatError{File: filepath.Join(dir, ConfigFile), Reason: jsonin.Describe(err)}
		}
		cfg, err := ParseConfig(raw, filepath.Join(dir, ConfigFile))
		if err != nil {
			return nil, err
		}
		e.Kind, e.Name, e.Method, e.ConfigID, e.Config = "adapter", mt.Name, cfg.Method(), cfg.ConfigID(), mt.Config
		e.ModelName, e.ModelType = mt.ModelName, mt.ModelType
		if mt.HiddenSize != nil {
			e.HiddenSize = *mt.HiddenSize
		}
		if mt.Version != nil {
			e.Version = *mt.Version
		}
	} else if b, err2 := read(FusionConfigFile); err2 == nil {
		mt, err := parseMetaNoModel(b, filepath.Join(dir, FusionConfigFile))
		if err != nil {
			return nil, err
		}
		e.Kind, e.Name, e.Method, e.Config, e.Fuses = "fusion", mt.Name, "fusion", mt.Config, mt.AdapterNames
		e.ModelName, e.ModelType = mt.ModelName, mt.ModelType
		if mt.HiddenSize != nil {
			e.HiddenSize = *mt.HiddenSize
		}
		if mt.Version != nil {
			e.Version = *mt.Version
		}
	} else {
		return nil, &FormatError{File: dir, Reason: "not an AdapterHub directory (no " + ConfigFile + " or " + FusionConfigFile + ")"}
	}
	if b, err := read(HeadConfigFile); err == nil {
		mt, err := parseMetaNoModel(b, filepath.Join(dir, HeadConfigFile))
		if err != nil {
			return nil, err
		}
		var hc HeadConfig
		name := mt.Name
		if string(mt.Config) == "null" {
			// static head (see staticHeads): described as the flex head it loads as
			if sh, ok := staticHeads[mt.ModelClass]; ok {
				hc = sh.config
			}
			hc.Label2ID, hc.NumLabels, name = mt.Label2ID, mt.NumLabels, e.Name
		} else if err := json.Unmarshal(mt.Config, &hc); err != nil {
			return nil, &FormatError{File: filepath.Join(dir, HeadConfigFile), Reason: err.Error()}
		}
		h := &IndexHead{Name: name, Type: hc.HeadType, UsePooler: hc.UsePooler}
		if hc.NumLabels != nil {
			h.NumLabels = *hc.NumLabels
		}
		if hc.Layers != nil {
			h.Layers = *hc.Layers
		}
		h.Labels = sortLabelsByID(hc.Label2ID)
		e.Head, e.Task, e.Labels = h, h.Type, h.Labels
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, de := range ents {
		if !de.Type().IsRegular() || strings.HasPrefix(de.Name(), ".") {
			continue
		}
		b, err := read(de.Name())
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		e.Files = append(e.Files, IndexFile{Name: de.Name(), Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:])})
		e.Size += int64(len(b))
	}
	return e, nil
}

// BuildIndex indexes every adapter directory found under roots. Paths in the index are made
// relative to base (the directory index.json will live in).
func BuildIndex(base string, roots ...string) (*Index, error) {
	idx := &Index{Version: IndexVersion, Adapters: []IndexEntry{}}
	base, err := filepath.Abs(base)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, root := range roots {
		dirs, err := FindAdapterDirs(root)
		if err != nil {
			return nil, err
		}
		if len(dirs) == 0 {
			return nil, &FormatError{File: root, Reason: "no adapter directories (adapter_config.json or adapter_fusion_config.json) found"}
		}
		for _, d := range dirs {
			abs, err := filepath.Abs(d)
			if err != nil {
				return nil, err
			}
			rel, err := filepath.Rel(base, abs)
			if err != nil {
				return nil, err
			}
			if seen[rel] {
				continue
			}
			seen[rel] = true
			e, err := IndexDir(d, rel)
			if err != nil {
				return nil, err
			}
			idx.Adapters = append(idx.Adapters, *e)
		}
	}
	sort.Slice(idx.Adapters, func(i, j int) bool { return idx.Adapters[i].ID < idx.Adapters[j].ID })
	// Readers (the js package's Index.find, the Worker) resolve a name to the first entry for
	// their base model: a second directory of the same kind, name and model_name would be
	// unreachable, silently. One name for several bases is fine (each base finds its own).
	type key struct{ kind, name, model string }
	first := map[key]string{}
	for _, e := range idx.Adapters {
		k := key{e.Kind, e.Name, e.ModelName}
		if id, dup := first[k]; dup {
			return nil, &FormatError{File: e.ID, Reason: fmt.Sprintf("its name %s (model_name %s) is also %s's: a reader would only ever load the first; "+
				"save one of them under another name (or index them separately)", quoteEcho(e.Name), quoteEcho(e.ModelName), id)}
		}
		first[k] = e.ID
	}
	return idx, nil
}

// MaxConfigBytes bounds adapter_config.json, head_config.json and adapter_fusion_config.json.
// Real ones are a few KB (a head with 10,000 labels ~250 KB); decoding a config into any costs
// ~17 times its size, so a 256 MB file (a union of millions of parts, 10^7 labels) would cost
// gigabytes before any count in it is checked.
const MaxConfigBytes = 4 << 20

// parseMetaNoModel reads a config's top level without checking it against a base model.
func parseMetaNoModel(b []byte, file string) (*meta, error) {
	var mt meta
	if len(b) > MaxConfigBytes {
		return nil, &FormatError{File: file, Reason: fmt.Sprintf("%d bytes; a config file has at most %d", len(b), MaxConfigBytes)}
	}
	if err := jsonin.CheckDepth(b, jsonin.MaxDepth); err != nil {
		return nil, &FormatError{File: file, Reason: err.Error()}
	}
	if err := json.Unmarshal(b, &mt); err != nil {
		return nil, &FormatError{File: file, Reason: "invalid JSON: " + jsonin.Describe(err)}
	}
	if mt.PeftType != nil || (mt.Config == nil && (mt.BaseModel != nil || mt.Target != nil)) {
		peft := "set"
		if s, ok := mt.PeftType.(string); ok {
			peft = quoteEcho(s)
		}
		return nil, &FormatError{File: file, Reason: fmt.Sprintf("this is a PEFT adapter config (peft_type %s), not an AdapterHub adapter: "+
			"load it into the adapters library (or convert it) and save it with save_adapter", peft)}
	}
	if mt.Config == nil {
		return nil, &FormatError{File: file, Reason: `no "config" key: not an AdapterHub config`}
	}
	return &mt, nil
}
