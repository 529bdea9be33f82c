// Package pretrained loads a base model in Hugging Face layout (config.json, tokenizer.json and
// model.safetensors or pytorch_model.bin) into an encoder and its tokenizer. It is the one place
// that knows which files make up a model directory.
package pretrained

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/adapterwasm/adapterwasm/internal/jsonin"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
	"github.com/adapterwasm/adapterwasm/runtime/modelfile"
	"github.com/adapterwasm/adapterwasm/runtime/tokenizer"
	"github.com/adapterwasm/adapterwasm/runtime/weights"
)

// Files of a Hugging Face model directory, in the order weights are looked for.
const (
	ConfigFile         = "config.json"
	TokenizerFile      = "tokenizer.json"
	SafetensorsFile    = "model.safetensors"
	PyTorchFile        = "pytorch_model.bin"
	SentenceBertConfig = "sentence_bert_config.json"
	// ModelFile is adapterwasm's converted base model (runtime/modelfile, `adapterwasm convert`):
	// config, tokenizer and weights (f32, f16 or q8) in one file. When present it replaces the
	// files above; ManifestFile beside it, when given, is checked against it (size, sha256).
	ModelFile    = modelfile.FileName
	ManifestFile = modelfile.ManifestName
)

// Model is a loaded base model: encoder, tokenizer and the sequence length texts are cut to.
type Model struct {
	Name      string // config's _name_or_path, else the directory name
	Config    bert.Config
	Encoder   *bert.Model
	Tokenizer *tokenizer.Tokenizer
	// MaxLength is the number of tokens (special tokens included) a text is truncated to:
	// sentence_bert_config.json's max_seq_length if present, else tokenizer.json's truncation,
	// capped at what the position table takes (bert.Config.MaxTokens).
	MaxLength int
}

// Error reports a model directory that cannot be loaded, naming the file.
type Error struct {
	File string
	Err  error
}

func (e *Error) Error() string { return "model: " + e.File + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// ErrNoWeights is wrapped when a directory has neither weight file.
var ErrNoWeights = errors.New("no model.safetensors or pytorch_model.bin")

// LoadDir loads the model directory dir: a converted model (ModelFile, with its ManifestFile when
// present) or, failing that, the Hugging Face layout.
func LoadDir(dir string) (*Model, error) {
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, name)) }
	files := map[string][]byte{}
	if b, err := read(ModelFile); err == nil {
		files[ModelFile] = b
		man, err := read(ManifestFile)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, &Error{File: filepath.Join(dir, ManifestFile), Err: err}
		}
		if err == nil {
			files[ManifestFile] = man
		}
		return finishDir(files, dir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, &Error{File: filepath.Join(dir, ModelFile), Err: err}
	}
	for _, name := range []string{ConfigFile, TokenizerFile, SentenceBertConfig} {
		b, err := read(name)
		if errors.Is(err, fs.ErrNotExist) && name == SentenceBertConfig {
			continue
		}
		if err != nil {
			return nil, &Error{File: filepath.Join(dir, name), Err: err}
		}
		files[name] = b
	}
	for _, name := range []string{SafetensorsFile, PyTorchFile} {
		b, err := read(name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, &Error{File: filepath.Join(dir, name), Err: err}
		}
		files[name] = b
		break
	}
	return finishDir(files, dir)
}

func finishDir(files map[string][]byte, dir string) (*Model, error) {
	m, err := Load(files)
	if err != nil {
		return nil, err
	}
	if m.Name == "" {
		m.Name = filepath.Base(dir)
	}
	return m, nil
}

// Load builds a model from the contents of its files, keyed by file name: either ModelFile
// (ManifestFile optional), or ConfigFile, TokenizerFile, and SafetensorsFile or PyTorchFile
// (SentenceBertConfig optional). Weights may alias the given bytes: do not reuse them.
func Load(files map[string][]byte) (*Model, error) {
	if b, ok := files[ModelFile]; ok {
		return loadModelFile(b, files[ManifestFile])
	}
	cfg, tokBytes, err := configAndTokenizer(files)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.FromJSON(tokBytes)
	if err != nil {
		return nil, &Error{File: TokenizerFile, Err: err}
	}
	if tok.VocabSize() > cfg.VocabSize {
		return nil, &Error{File: TokenizerFile, Err: fmt.Errorf("tokenizer has %d tokens but the model's vocab_size is %d", tok.VocabSize(), cfg.VocabSize)}
	}
	wname, wbytes, err := weightsFile(files)
	if err != nil {
		return nil, err
	}
	wf, err := weights.Parse(wname, wbytes)
	if err != nil {
		return nil, err
	}
	return build(cfg, tok, wf.Tensors, wname, files[SentenceBertConfig])
}

// configAndTokenizer returns the parsed config.json and tokenizer.json's bytes of a Hugging Face
// directory's files.
func configAndTokenizer(files map[string][]byte) (bert.Config, []byte, error) {
	cfgBytes, ok := files[ConfigFile]
	if !ok {
		return bert.Config{}, nil, &Error{File: ConfigFile, Err: fs.ErrNotExist}
	}
	cfg, err := bert.ParseConfig(cfgBytes)
	if err != nil {
		return bert.Config{}, nil, &Error{File: ConfigFile, Err: err}
	}
	tokBytes, ok := files[TokenizerFile]
	if !ok {
		return bert.Config{}, nil, &Error{File: TokenizerFile, Err: fs.ErrNotExist}
	}
	return cfg, tokBytes, nil
}

// weightsFile returns the weights of a Hugging Face directory's files: SafetensorsFile, else
// PyTorchFile.
func weightsFile(files map[string][]byte) (string, []byte, error) {
	for _, name := range []string{SafetensorsFile, PyTorchFile} {
		if b, ok := files[name]; ok {
			return name, b, nil
		}
	}
	return "", nil, &Error{File: SafetensorsFile, Err: ErrNoWeights}
}

// loadModelFile loads a converted model file, checking it against its manifest when given.
func loadModelFile(b, manifest []byte) (*Model, error) {
	if manifest != nil {
		man, err := modelfile.ParseManifest(manifest)
		if err != nil {
			return nil, &Error{File: ManifestFile, Err: err}
		}
		if err := man.Check(b); err != nil {
			return nil, &Error{File: ModelFile, Err: err}
		}
	}
	mf, err := modelfile.Parse(b)
	if err != nil {
		return nil, &Error{File: ModelFile, Err: err}
	}
	cfg, err := bert.ParseConfig(mf.Config)
	if err != nil {
		return nil, &Error{File: ModelFile + ": " + ConfigFile, Err: err}
	}
	tok, err := tokenizer.FromJSON(mf.Tokenizer)
	if err != nil {
		return nil, &Error{File: ModelFile + ": " + TokenizerFile, Err: err}
	}
	if tok.VocabSize() > cfg.VocabSize {
		return nil, &Error{File: ModelFile + ": " + TokenizerFile, Err: fmt.Errorf("tokenizer has %d tokens but the model's vocab_size is %d", tok.VocabSize(), cfg.VocabSize)}
	}
	m, err := build(cfg, tok, mf.Tensors, ModelFile, mf.SentenceBertConfig)
	if err != nil {
		return nil, err
	}
	if mf.Source != "" {
		m.Name = mf.Source // what convert --name says, over the checkpoint's _name_or_path
	}
	return m, nil
}

// build binds the encoder and settles the maximum length; sbert is sentence_bert_config.json or nil.
func build(cfg bert.Config, tok *tokenizer.Tokenizer, ts map[string]*weights.Tensor, wname string, sbert []byte) (*Model, error) {
	enc, err := bert.FromTensors(cfg, ts, wname)
	if err != nil {
		return nil, err
	}
	m := &Model{Name: cfg.NameOrPath, Config: cfg, Encoder: enc, Tokenizer: tok}
	m.MaxLength = tok.MaxLength()
	if b := sbert; b != nil {
		var sb struct {
			MaxSeqLength int `json:"max_seq_length"`
		}
		if err := jsonin.CheckDepth(b, jsonin.MaxDepth); err != nil {
			return nil, &Error{File: SentenceBertConfig, Err: err}
		}
		if err := json.Unmarshal(b, &sb); err != nil {
			return nil, &Error{File: SentenceBertConfig, Err: errors.New(jsonin.Describe(err))}
		}
		if sb.MaxSeqLength > 0 {
			m.MaxLength = sb.MaxSeqLength
		}
	}
	if m.MaxLength <= 0 || m.MaxLength > cfg.MaxTokens() {
		m.MaxLength = cfg.MaxTokens() // RoBERTa's positions start after the padding index: 514 take 512
	}
	m.MaxLength = min(m.MaxLength, MaxSequenceLength)
	return m, nil
}

// MaxSequenceLength bounds the tokens of one text, whatever config.json (positions up to 65,536),
// tokenizer.json and sentence_bert_config.json allow: attention keeps T×T scores per head in one
// pass, 64 MiB at 4096 tokens, 16 GiB at 65,536 (a fatal out-of-memory, past Wasm's 4 GiB).
// BERT checkpoints with absolute positions have 512.
const MaxSequenceLength = 4096
