package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/adapterwasm/adapterwasm/hub"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/modelfile"
	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
	"github.com/adapterwasm/adapterwasm/runtime/weights"
)

func init() {
	register(&command{name: "convert", summary: "convert a Hugging Face model directory to adapterwasm's single-file base model (f32, f16, q8)", run: runConvert})
}

// runConvert reads a Hugging Face model directory and writes DIR/adapterwasm.safetensors and
// DIR/manifest.json (runtime/modelfile). Before anything is written it loads the result the way
// the runtime will, so a file that cannot run is never produced.
func runConvert(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("convert", stderr)
	in := fs.String("in", "", "Hugging Face model directory (config.json, tokenizer.json, model.safetensors or pytorch_model.bin) or a hub id (required)")
	out := fs.String("out", "", "output directory, created if needed (required)")
	dtypeFlag := fs.String("dtype", "q8", "weight storage: f32, f16 or q8")
	nameFlag := fs.String("name", "", "the model's name as adapters' model_name gives it, e.g. sentence-transformers/all-MiniLM-L6-v2 (default: config.json's _name_or_path, else the directory's name)")
	hf := addHubFlags(fs, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *in == "" || *out == "" {
		return &usageError{msg: "--in and --out are required"}
	}
	inDir, snap, err := hf.resolve("in", *in, *hf.revision, hub.BaseModelFiles)
	if err != nil {
		return err
	}
	in = &inDir
	dtype, err := modelfile.ParseDType(*dtypeFlag)
	if err != nil {
		return &usageError{msg: "--dtype: " + err.Error()}
	}

	read := func(name string, optional bool) ([]byte, error) {
		b, err := os.ReadFile(filepath.Join(*in, name))
		if optional && errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return b, err
	}
	cfgB, err := read(pretrained.ConfigFile, false)
	if err != nil {
		return err
	}
	cfg, err := bert.ParseConfig(cfgB)
	if err != nil {
		return err
	}
	tokB, err := read(pretrained.TokenizerFile, false)
	if err != nil {
		return err
	}
	sbB, err := read(pretrained.SentenceBertConfig, true)
	if err != nil {
		return err
	}
	var wname string
	var wb []byte
	for _, name := range []string{pretrained.SafetensorsFile, pretrained.PyTorchFile} {
		if wb, err = read(name, true); err != nil {
			return err
		}
		if wb != nil {
			wname = name
			break
		}
	}
	if wb == nil {
		return fmt.Errorf("%s: %w", *in, pretrained.ErrNoWeights)
	}
	wf, err := weights.Parse(wname, wb)
	if err != nil {
		return err
	}
	tensors, err := modelfile.Convert(wf, dtype)
	if err != nil {
		return err
	}
	// source is the model's name (the runtime's Model.Name): the one adapters trained on it give as
	// model_name, which a checkpoint's _name_or_path often is not (all-MiniLM-L6-v2 says
	// nreimers/MiniLM-L6-H384-uncased, the checkpoint it was fine-tuned from).
	source := *nameFlag
	if source == "" && snap != nil {
		source = snap.ID // the hub id is the name adapters give as model_name
	}
	if source == "" {
		source = cfg.NameOrPath
	}
	if source == "" {
		source = filepath.Base(filepath.Clean(*in))
	}
	var buf bytes.Buffer
	h := modelfile.Header{DType: dtype, Source: source, Config: cfgB, Tokenizer: tokB, SentenceBertConfig: sbB}
	if err := modelfile.Write(&buf, h, tensors); err != nil {
		return err
	}
	file := buf.Bytes()
	man := modelfile.NewManifest(file, dtype, source)
	if snap != nil {
		man.Revision = snap.Commit // pinned: the hub commit that was converted
	}
	manB, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return err
	}
	manB = append(manB, '\n')

	// Load what we are about to write, through the manifest check, exactly as LoadDir will.
	if _, err := pretrained.Load(map[string][]byte{pretrained.ModelFile: bytes.Clone(file), pretrained.ManifestFile: manB}); err != nil {
		return fmt.Errorf("the converted model does not load: %w", err)
	}

	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(*out, modelfile.FileName), file); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(*out, modelfile.ManifestName), manB); err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	defer w.Flush()
	return writeJSONLine(w, map[string]any{
		"file":         filepath.Join(*out, modelfile.FileName),
		"dtype":        dtype,
		"bytes":        len(file),
		"source_bytes": len(wb),
		"ratio":        float64(len(file)) / float64(len(wb)),
		"sha256":       man.Files[0].SHA256,
	})
}

// writeFileAtomic writes b to a temporary file beside path and renames it into place, so that a
// reader never sees a half-written model.
func writeFileAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil && !errors.Is(err, fs.ErrPermission) {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
