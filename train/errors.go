package train

import "fmt"

// ConfigError reports an option, config string or head specification that cannot be trained.
type ConfigError struct{ Reason string }

func (e *ConfigError) Error() string { return "train: " + e.Reason }

// UnsupportedError reports valid AdapterHub configuration that this package does not train.
// Its message always reads "unsupported: <what>".
type UnsupportedError struct{ What string }

func (e *UnsupportedError) Error() string { return "train: unsupported: " + e.What }

// InputError reports a batch the trainer cannot take: bad labels, shapes, token ids.
type InputError struct{ Reason string }

func (e *InputError) Error() string { return "train: input: " + e.Reason }

// LimitError reports a batch whose activations would exceed the memory bound
// (Options.MaxActivationBytes).
type LimitError struct {
	B, T       int
	Bytes, Max int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("train: a batch of %d×%d tokens keeps %d MiB of activations, more than the %d MiB allowed (Options.MaxActivationBytes): use a smaller batch or shorter texts",
		e.B, e.T, e.Bytes>>20, e.Max>>20)
}

// MaxLabels bounds the labels of a trained head, MaxLabelBytes the length of each label name
// (id2label's values, shown to users). The head's last layer, its gradient and AdamW's two
// moments keep 16·H bytes per label (6 KB on MiniLM, 12 KB on BERT-base), and every saved or
// loaded copy 4·H more: 1,024 labels stay under 20 MB on BERT-base, where the 65,536 a head
// file may declare would take 1.4 GB of a 32-bit Wasm memory that also holds the base model.
const (
	MaxLabels     = 1024
	MaxLabelBytes = 256
)

// LabelsError reports a head with more than MaxLabels labels (Labels > 0) or a label name
// longer than MaxLabelBytes (the label at Index, Bytes long).
type LabelsError struct {
	Labels       int
	Index, Bytes int
}

func (e *LabelsError) Error() string {
	if e.Labels > 0 {
		return fmt.Sprintf("train: %d labels; a trained head may have at most %d (train.MaxLabels)", e.Labels, MaxLabels)
	}
	return fmt.Sprintf("train: label %d is %d bytes long; at most %d (train.MaxLabelBytes)", e.Index, e.Bytes, MaxLabelBytes)
}
