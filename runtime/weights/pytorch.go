package weights

// ParsePyTorch parses a torch.save zip archive of a state dict.
func ParsePyTorch(name string, b []byte) (*File, error) {
	return nil, &UnsupportedError{File: name, Reason: "PyTorch .bin reader not yet implemented"}
}
