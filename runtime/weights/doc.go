// Package weights parses weight files into named tensors: safetensors
// (https://github.com/huggingface/safetensors, README "Format" and
// safetensors/src/tensor.rs) and PyTorch's torch.save zip archives of a state
// dict (torch/serialization.py, torch/_utils.py), whose data.pkl is run by a
// minimal, allow-listed pickle machine (Python's Lib/pickletools.py documents
// every opcode) that never imports or calls anything.
//
// The package works on []byte and knows nothing of models. Tensor.Data may
// alias the input buffer: callers that mutate or reuse the input must copy.
// Every error for bad input is a *FormatError (the bytes are wrong) or a
// *UnsupportedError (the bytes are valid but use a feature this package
// refuses, such as a pickle opcode or global outside the allow-list).
package weights
