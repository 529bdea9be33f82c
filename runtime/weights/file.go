package weights

// File is a parsed weight file: its tensors by name and in file order.
type File struct {
	Name     string             // file name used in errors
	Tensors  map[string]*Tensor // by name
	Order    []string           // tensor names in file order (see the parsers)
	Metadata map[string]string  // safetensors __metadata__; nil when absent and for .bin
}

// Parse sniffs the format of b: a zip local-file signature ("PK\x03\x04")
// means a torch.save archive (ParsePyTorch), anything else safetensors
// (ParseSafetensors). A legacy torch.save file (a bare pickle, written by
// torch < 1.6 or with _use_new_zipfile_serialization=False) is reported as an
// *UnsupportedError.
func Parse(name string, b []byte) (*File, error) {
	if (len(b) >= 4 && string(b[:4]) == "PK\x03\x04") || isLegacyTorch(b) {
		return ParsePyTorch(name, b)
	}
	return ParseSafetensors(name, b)
}

// isLegacyTorch reports whether b starts like torch's legacy format: a
// pickled magic number, i.e. PROTO 2 then LONG1 (torch/serialization.py,
// _legacy_save writes pickle_module.dump(MAGIC_NUMBER, ...) with protocol 2).
func isLegacyTorch(b []byte) bool {
	return len(b) >= 3 && b[0] == opPROTO && b[1] >= 2 && b[1] <= 5 && b[2] == opLONG1
}
