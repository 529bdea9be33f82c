package adapters

import (
	"fmt"
	"github.com/adapterwasm/adapterwasm/runtime/bert"
)

// FormatError reports a file that is not what it claims to be: invalid JSON, a config of another
// library (PEFT), a config missing required keys. File names the file, Reason the problem.
type FormatError struct {
	File   string
	Reason string
}

func (e *FormatError) Error() string { return "adapters: " + join(e.File, e.Reason) }

// UnsupportedError reports valid AdapterHub content that this package does not run: a method,
// a config flag or a composition. Its message always reads "unsupported: <what>".
type UnsupportedError struct {
	File string // may be empty
	What string // e.g. "phm_layer (compacter)", "Fuse with LoRA adapter lora_qv"
}

func (e *UnsupportedError) Error() string { return "adapters: " + join(e.File, "unsupported: "+e.What) }

// LoadError lists every missing, misshaped or unexpected tensor found while binding an adapter,
// fusion or head weight file, so that one run tells the whole story.
type LoadError struct {
	File     string
	Problems []string
}

func (e *LoadError) Error() string {
	return "adapters: " + join(e.File, bert.SummarizeProblems(e.Problems))
}

// MismatchError reports an adapter, head or fusion made for another base model: a different
// hidden size or model type.
type MismatchError struct {
	File       string
	Field      string // "hidden_size" or "model_type"
	Got, Model string
	ModelType  string // the base model's model_type, named in the error when it is not BERT's
}

func (e *MismatchError) Error() string {
	base := "the base model"
	if e.ModelType != "" && e.ModelType != "bert" && e.Field != "model_type" {
		base += " (" + e.ModelType + ")"
	}
	return "adapters: " + join(e.File, fmt.Sprintf("%s is %s but %s has %s", e.Field, e.Got, base, e.Model))
}

// SetupError reports an invalid adapter setup: a syntax error in a setup expression, a name
// that is not loaded, a nesting the library forbids, sizes that do not fit the batch.
type SetupError struct {
	Setup  string
	Reason string
}

func (e *SetupError) Error() string {
	if e.Setup == "" {
		return "adapters: setup: " + e.Reason
	}
	return "adapters: setup " + e.Setup + ": " + e.Reason
}

func join(file, msg string) string {
	if file == "" {
		return msg
	}
	return file + ": " + msg
}
