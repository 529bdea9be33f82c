package pretrained

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/adapterwasm/adapterwasm/runtime/modelfile"
	"github.com/adapterwasm/adapterwasm/runtime/weights"
)

// ConvertOptions say how Convert writes a model file.
type ConvertOptions struct {
	DType string // f32, f16 or q8 (modelfile.DType)
	// Name is the model's name as adapters' model_name gives it (`convert --name`, or the hub id
	// converted); "" means config.json's _name_or_path, else Fallback.
	Name     string
	Fallback string // the name when neither says one (the CLI: the directory's name)
	Revision string // the hub commit converted, written into the manifest ("" for none)
	// Block is q8's block for the linear weights (modelfile.Options.Block: 32, 64 or 128; 0 for
	// modelfile.DefaultQ8Block); it must be 0 for the other dtypes.
	Block int
}

// Converted is a model file and its manifest, as `adapterwasm convert` writes them.
type Converted struct {
	File        []byte             // adapterwasm.safetensors
	Manifest    modelfile.Manifest // manifest.json's content
	SourceName  string             // the weights file converted (SafetensorsFile or PyTorchFile)
	SourceBytes int                // its size
}

// ManifestJSON is manifest.json's bytes, as `adapterwasm convert` writes them.
func (c *Converted) ManifestJSON() ([]byte, error) {
	b, err := json.MarshalIndent(c.Manifest, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Convert turns the files of a Hugging Face model directory (ConfigFile, TokenizerFile,
// SafetensorsFile or PyTorchFile, SentenceBertConfig optional) into adapterwasm's single-file base
// model (runtime/modelfile) of opt.DType. It is `adapterwasm convert` and the Wasm module's
// convert alike, so both give the same bytes for the same files.
//
// Memory: besides the source bytes it holds the converted tensors (the output's size) and the
// file being written, allocated once at its final size; the float32 copy of one source tensor
// at a time. Entries of files are deleted as they are used up (callers that keep no other
// reference let the collector reuse the source's memory for the output: the Wasm module's
// linear memory never shrinks, so its peak is what a page keeps).
func Convert(files map[string][]byte, opt ConvertOptions) (*Converted, error) {
	dtype, err := modelfile.ParseDType(opt.DType)
	if err != nil {
		return nil, err
	}
	if err := (modelfile.Options{Block: opt.Block}).Check(dtype); err != nil {
		return nil, err // before the files are parsed
	}
	cfg, tokB, err := configAndTokenizer(files)
	if err != nil {
		return nil, err
	}
	cfgB, sbB := files[ConfigFile], files[SentenceBertConfig]
	wname, wb, err := weightsFile(files)
	if err != nil {
		return nil, err
	}
	wf, err := weights.Parse(wname, wb)
	if err != nil {
		return nil, err
	}
	tensors, err := modelfile.ConvertWith(wf, dtype, modelfile.Options{Block: opt.Block})
	if err != nil {
		return nil, err
	}
	sourceBytes := len(wb)
	// Tensors copied as they are (integer buffers) alias the source: clone them, so that nothing
	// keeps the source's bytes alive once the caller drops them.
	for i, t := range tensors {
		if src, ok := wf.Tensors[t.Name]; ok && t == src {
			c := *t
			c.Data = bytes.Clone(t.Data)
			tensors[i] = &c
		}
	}
	wf, wb = nil, nil
	delete(files, wname)

	// source is the model's name (the runtime's Model.Name): the one adapters trained on it give
	// as model_name, which a checkpoint's _name_or_path often is not (all-MiniLM-L6-v2 says
	// nreimers/MiniLM-L6-H384-uncased, the checkpoint it was fine-tuned from).
	source := opt.Name
	if source == "" {
		source = cfg.NameOrPath
	}
	if source == "" {
		source = opt.Fallback
	}
	size := len(cfgB) + len(tokB) + len(sbB) + 1<<16 // the header: metadata and tensor entries
	for _, t := range tensors {
		size += len(t.Data) + 8 // alignment padding
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	h := modelfile.Header{DType: dtype, Source: source, Config: cfgB, Tokenizer: tokB, SentenceBertConfig: sbB}
	if err := modelfile.Write(buf, h, tensors); err != nil {
		return nil, err
	}
	file := buf.Bytes()
	man := modelfile.NewManifest(file, dtype, source)
	man.Revision = opt.Revision
	return &Converted{File: file, Manifest: man, SourceName: wname, SourceBytes: sourceBytes}, nil
}

// CheckConverted loads c as the runtime will (through the manifest check) without keeping it,
// so that a file that cannot run is never written or cached.
func CheckConverted(c *Converted) error {
	man, err := c.ManifestJSON()
	if err != nil {
		return err
	}
	if _, err := Load(map[string][]byte{ModelFile: bytes.Clone(c.File), ManifestFile: man}); err != nil {
		return fmt.Errorf("the converted model does not load: %w", err)
	}
	return nil
}
