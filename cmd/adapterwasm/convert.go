package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/adapterwasm/adapterwasm/hub"
	"github.com/adapterwasm/adapterwasm/runtime/modelfile"
	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
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
	blockFlag := fs.Int("block", 0, "q8 only: how many consecutive weights of a row share one scale, 32, 64 or 128 (default 32); larger is faster and less accurate (README, Performance)")
	nameFlag := fs.String("name", "", "the model's name as adapters' model_name gives it, e.g. sentence-transformers/all-MiniLM-L6-v2 (default: config.json's _name_or_path, else the directory's name)")
	hf := addHubFlags(fs, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *in == "" || *out == "" {
		return &usageError{msg: "--in and --out are required"}
	}
	dtype, err := modelfile.ParseDType(*dtypeFlag)
	if err != nil {
		return &usageError{msg: "--dtype: " + err.Error()}
	}
	if (modelfile.Options{Block: *blockFlag}).Check(dtype) != nil {
		return &usageError{msg: fmt.Sprintf("--block %d: want 32, 64 or 128, with --dtype q8", *blockFlag)}
	}
	inDir, snap, err := hf.resolve("in", *in, *hf.revision, hub.BaseModelFiles)
	if err != nil {
		return err
	}
	in = &inDir

	files := map[string][]byte{}
	for _, f := range []struct {
		name     string
		optional bool
	}{{pretrained.ConfigFile, false}, {pretrained.TokenizerFile, false}, {pretrained.SentenceBertConfig, true}, {pretrained.SafetensorsFile, true}, {pretrained.PyTorchFile, true}} {
		if f.name == pretrained.PyTorchFile && files[pretrained.SafetensorsFile] != nil {
			break // of the weights, the first that exists
		}
		b, err := os.ReadFile(filepath.Join(*in, f.name))
		if f.optional && errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		files[f.name] = b
	}
	if files[pretrained.SafetensorsFile] == nil && files[pretrained.PyTorchFile] == nil {
		return fmt.Errorf("%s: %w", *in, pretrained.ErrNoWeights)
	}
	opt := pretrained.ConvertOptions{DType: string(dtype), Name: *nameFlag, Fallback: filepath.Base(filepath.Clean(*in)), Block: *blockFlag}
	if snap != nil {
		if opt.Name == "" {
			opt.Name = snap.ID // the hub id is the name adapters give as model_name
		}
		opt.Revision = snap.Commit // pinned: the hub commit that was converted
	}
	conv, err := pretrained.Convert(files, opt)
	if err != nil {
		return err
	}
	file := conv.File
	man := conv.Manifest
	manB, err := conv.ManifestJSON()
	if err != nil {
		return err
	}
	// Load what we are about to write, through the manifest check, exactly as LoadDir will.
	if err := pretrained.CheckConverted(conv); err != nil {
		return err
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
		"source_bytes": conv.SourceBytes,
		"ratio":        float64(len(file)) / float64(conv.SourceBytes),
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
