package adapters

import "strings"

// PyJSONIndent returns v as Python's json.dump(v, f, indent=2, sort_keys=True) writes it: the
// layout of the adapter_config.json and head_config.json files that save_adapter and save_head
// write (utils.py / loading.py). v holds the values a parsed config holds (Config.Raw): nil,
// bool, int, Python ints, float64 (printed as Python prints floats: 1.0, 0.0001), strings,
// []any and map[string]any.
func PyJSONIndent(v any) ([]byte, error) {
	return pyJSONIndent(nil, v, 0)
}

func pyJSONIndent(dst []byte, v any, depth int) ([]byte, error) {
	pad := func(d int) { dst = append(dst, '\n'); dst = append(dst, strings.Repeat("  ", d)...) }
	switch x := v.(type) {
	case []any:
		if len(x) == 0 {
			return append(dst, "[]"...), nil
		}
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			pad(depth + 1)
			var err error
			if dst, err = pyJSONIndent(dst, e, depth+1); err != nil {
				return nil, err
			}
		}
		pad(depth)
		return append(dst, ']'), nil
	case map[string]any:
		if len(x) == 0 {
			return append(dst, "{}"...), nil
		}
		dst = append(dst, '{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				dst = append(dst, ',')
			}
			pad(depth + 1)
			dst = pyString(dst, k)
			dst = append(dst, ": "...)
			var err error
			if dst, err = pyJSONIndent(dst, x[k], depth+1); err != nil {
				return nil, err
			}
		}
		pad(depth)
		return append(dst, '}'), nil
	}
	return pyJSON(dst, v)
}
