package tokenizer

import (
	"encoding/json"
)

// parseVocab decodes a WordPiece vocab, a JSON object of token → id. The vocab is most of a
// tokenizer.json (30k entries for BERT) and FromJSON's cost is mostly here, which matters
// for cold starts in WebAssembly: the fast path copies the bytes into one string and takes
// the keys as substrings of it (escaped keys are decoded one by one), so it allocates a
// handful of times instead of once per entry. Anything it does not expect falls back to
// encoding/json, which also gives the error.
// Ids outside [0, maxVocabID) are a FormatError.
func parseVocab(raw []byte) (map[string]int32, error) {
	if v, ok := parseVocabFast(raw); ok {
		return v, nil
	}
	var v64 map[string]int64
	if err := json.Unmarshal(raw, &v64); err != nil {
		return nil, err
	}
	v := make(map[string]int32, len(v64))
	for tok, id := range v64 {
		if id < 0 || id >= maxVocabID {
			return nil, formatErrorf("token %q has id %d out of range [0, %d)", tok, id, maxVocabID)
		}
		v[tok] = int32(id)
	}
	return v, nil
}

func parseVocabFast(raw []byte) (map[string]int32, bool) {
	s := string(raw)
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			n++
		}
	}
	v := make(map[string]int32, n)
	i := 0
	ws := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t') {
			i++
		}
	}
	ws()
	if i >= len(s) || s[i] != '{' {
		return nil, false
	}
	i++
	ws()
	if i < len(s) && s[i] == '}' {
		i++
		ws()
		return v, i == len(s)
	}
	for {
		ws()
		if i >= len(s) || s[i] != '"' {
			return nil, false
		}
		start := i + 1
		escaped := false
		j := start
		for ; j < len(s) && s[j] != '"'; j++ {
			if s[j] == '\\' {
				escaped = true
				j++
			} else if s[j] < 0x20 {
				return nil, false
			}
		}
		if j >= len(s) {
			return nil, false
		}
		key := s[start:j]
		if escaped {
			var k string
			if err := json.Unmarshal(raw[start-1:j+1], &k); err != nil {
				return nil, false
			}
			key = k
		}
		i = j + 1
		ws()
		if i >= len(s) || s[i] != ':' {
			return nil, false
		}
		i++
		ws()
		neg := false
		if i < len(s) && s[i] == '-' {
			neg = true
			i++
		}
		d0 := i
		var id int64
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if id >= maxVocabID {
				return nil, false // out of range: the slow path reports it
			}
			id = id*10 + int64(s[i]-'0')
			i++
		}
		if i == d0 || (i < len(s) && (s[i] == '.' || s[i] == 'e' || s[i] == 'E')) {
			return nil, false
		}
		if neg || id >= maxVocabID {
			return nil, false
		}
		v[key] = int32(id)
		ws()
		if i >= len(s) {
			return nil, false
		}
		if s[i] == ',' {
			i++
			continue
		}
		if s[i] == '}' {
			i++
			ws()
			return v, i == len(s)
		}
		return nil, false
	}
}

// cutVocab finds the value of "model"."vocab" in a tokenizer.json and returns the file with
// that value replaced by null, and the value itself, so that encoding/json does not have to
// validate and skip the vocab twice. ok is false if the file is not shaped as expected;
// the caller then decodes it whole.
func cutVocab(b []byte) (rest, vocab []byte, ok bool) {
	i := skipSpace(b, 0)
	ms, me, ok := objectFind(b, i, "model")
	if !ok {
		return nil, nil, false
	}
	vs, ve, ok := objectFind(b, ms, "vocab")
	if !ok || ve > me || b[vs] != '{' {
		return nil, nil, false
	}
	rest = make([]byte, 0, len(b)-(ve-vs)+4)
	rest = append(rest, b[:vs]...)
	rest = append(rest, "null"...)
	rest = append(rest, b[ve:]...)
	return rest, b[vs:ve], true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// skipString returns the index after the JSON string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return 0, false
}

// skipValue returns the index after the JSON value starting at b[i].
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, ok := skipString(b, j)
				if !ok {
					return 0, false
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return 0, false
	default:
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\r' && b[j] != '\t' {
			j++
		}
		return j, j > i
	}
}

// objectFind returns the extent of the value of key in the JSON object starting at b[i]
// (its last occurrence, which is the one encoding/json keeps).
func objectFind(b []byte, i int, key string) (int, int, bool) {
	if i >= len(b) || b[i] != '{' {
		return 0, 0, false
	}
	fs, fe, found := 0, 0, false
	i = skipSpace(b, i+1)
	for i < len(b) && b[i] == '"' {
		ke, ok := skipString(b, i)
		if !ok {
			return 0, 0, false
		}
		k := b[i+1 : ke-1]
		i = skipSpace(b, ke)
		if i >= len(b) || b[i] != ':' {
			return 0, 0, false
		}
		vs := skipSpace(b, i+1)
		ve, ok := skipValue(b, vs)
		if !ok {
			return 0, 0, false
		}
		if string(k) == key {
			fs, fe, found = vs, ve, true
		}
		i = skipSpace(b, ve)
		if i < len(b) && b[i] == ',' {
			i = skipSpace(b, i+1)
		}
	}
	return fs, fe, found
}
