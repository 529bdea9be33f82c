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
