package adapters

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
)

// hashIgnoreDefault is ADAPTER_CONFIG_HASH_IGNORE_DEFAULT of adapters/utils.py: keys introduced
// in v3 that are dropped from the hash at these values, to keep config ids stable.
var hashIgnoreDefault = map[string]any{
	"phm_layer":                 true,
	"phm_dim":                   pyInt(4),
	"factorized_phm_W":          true,
	"shared_W_phm":              false,
	"shared_phm_rule":           true,
	"factorized_phm_rule":       false,
	"phm_c_init":                "normal",
	"phm_init_range":            0.0001,
	"learn_phm":                 true,
	"hypercomplex_nonlinearity": "glorot-uniform",
	"phm_rank":                  pyInt(1),
	"phm_bias":                  true,
	"init_weights":              "bert",
	"scaling":                   1.0,
}

// ConfigHash is get_adapter_config_hash (adapters/utils.py): SHA-1 of
// json.dumps(minimized config, sort_keys=True), first 16 hex digits. Values must carry Python
// JSON types (as ParseConfig keeps them).
func ConfigHash(config map[string]any) string {
	m := minimize(config).(map[string]any)
	for k, def := range hashIgnoreDefault {
		if v, ok := m[k]; ok && pyEqual(v, def) {
			delete(m, k)
		}
	}
	b, err := pyJSON(nil, m)
	if err != nil {
		return ""
	}
	sum := sha1.Sum(b)
	return hex.EncodeToString(sum[:])[:16]
}

// minimize is _minimize_dict: drops falsy values from mappings, recursively (not inside lists).
func minimize(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	out := map[string]any{}
	for k, e := range m {
		if truthy(e) {
			out[k] = minimize(e)
		}
	}
	return out
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case pyInt:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// pyEqual is Python's == for JSON values (1 == 1.0 == True).
func pyEqual(a, b any) bool {
	num := func(v any) (float64, bool) {
		switch x := v.(type) {
		case bool:
			if x {
				return 1, true
			}
			return 0, true
		case pyInt:
			return float64(x), true
		case float64:
			return x, true
		}
		return 0, false
	}
	if x, ok := num(a); ok {
		y, ok := num(b)
		return ok && x == y
	}
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case nil:
		return b == nil
	}
	return false
}

// pyJSON appends v as Python's json.dumps(v, sort_keys=True) prints it (", " and ": "
// separators, ensure_ascii, float repr).
func pyJSON(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		if x {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case pyInt:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	case float64:
		return append(dst, pyFloat(x)...), nil
	case string:
		return pyString(dst, x), nil
	case []any:
		dst = append(dst, '[')
		for i, e := range x {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			var err error
			if dst, err = pyJSON(dst, e); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case map[string]any:
		dst = append(dst, '{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				dst = append(dst, ", "...)
			}
			dst = pyString(dst, k)
			dst = append(dst, ": "...)
			var err error
			if dst, err = pyJSON(dst, x[k]); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	}
	return nil, fmt.Errorf("pyJSON: unsupported %T", v)
}

// pyFloat is Python's float.__repr__ (shortest round-trip digits; exponent form below 1e-4
// and from 1e16), with json's spellings of the special values.
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, expStr, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expStr)
	neg := strings.HasPrefix(mant, "-")
	mant = strings.TrimPrefix(mant, "-")
	digits := strings.Replace(mant, ".", "", 1)
	sign := ""
	if neg {
		sign = "-"
	}
	if exp < -4 || exp >= 16 {
		m := digits[:1]
		if len(digits) > 1 {
			m += "." + digits[1:]
		}
		es := fmt.Sprintf("%+03d", exp)
		return sign + m + "e" + es
	}
	if exp < 0 {
		return sign + "0." + strings.Repeat("0", -exp-1) + digits
	}
	if len(digits) <= exp+1 {
		return sign + digits + strings.Repeat("0", exp+1-len(digits)) + ".0"
	}
	return sign + digits[:exp+1] + "." + digits[exp+1:]
}

func pyString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for _, r := range s {
		switch {
		case r == '"':
			dst = append(dst, `\"`...)
		case r == '\\':
			dst = append(dst, `\\`...)
		case r == '\n':
			dst = append(dst, `\n`...)
		case r == '\r':
			dst = append(dst, `\r`...)
		case r == '\t':
			dst = append(dst, `\t`...)
		case r == '\b':
			dst = append(dst, `\b`...)
		case r == '\f':
			dst = append(dst, `\f`...)
		case r < 0x20 || r > 0x7f:
			if r > 0xffff {
				a, b := utf16.EncodeRune(r)
				dst = fmt.Appendf(dst, `\u%04x\u%04x`, a, b)
			} else {
				dst = fmt.Appendf(dst, `\u%04x`, r)
			}
		default:
			dst = append(dst, byte(r))
		}
	}
	return append(dst, '"')
}
