package tokenizer

import (
	"encoding/json"
	"strconv"
	"strings"
)

// parseVocab decodes a WordPiece vocab, a JSON object of token → id. The vocab is most of a
// tokenizer.json (30k entries for BERT) and FromJSON's cost is mostly here, which matters
// for cold starts in WebAssembly: the fast path copies the bytes into one string and takes
// the keys as substrings of it (escaped keys are decoded one by one), so it allocates a
// handful of times instead of once per entry. Anything it does not expect falls back to
// encoding/json, which also gives the error.
// Ids outside [0, maxVocabID), and more than maxVocabID entries, are a FormatError, found
// before the map holds more than maxVocabID entries.
func parseVocab(raw []byte) (map[string]int32, error) {
	// Count the entries before any map is made (a scan without allocating).
	if topLevelEntries(raw) > maxVocabID {
		return nil, errTooManyTokens
	}
	if v, err, ok := parseVocabFast(raw); ok {
		return v, err
	}
	var v64 map[string]int64
	if err := json.Unmarshal(raw, &v64); err != nil {
		if te, ok := err.(*json.UnmarshalTypeError); ok {
			return nil, formatErrorf("an id is a %.32s, not an integer", te.Value)
		}
		return nil, err
	}
	v := make(map[string]int32, len(v64))
	for tok, id := range v64 {
		if id < 0 || id >= maxVocabID {
			return nil, idOutOfRange(tok, id)
		}
		v[tok] = int32(id)
	}
	return v, nil
}

var errTooManyTokens = formatErrorf("more than %d tokens", maxVocabID)

func idOutOfRange(tok string, id int64) error {
	return formatErrorf("token %.32q has id %d out of range [0, %d)", tok, id, maxVocabID)
}

// topLevelEntries counts the members of the JSON object b: its commas outside strings and
// nested values, plus one (an upper bound if b is not valid JSON).
func topLevelEntries(b []byte) int {
	n, depth := 1, 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case ',':
			if depth == 1 {
				n++
			}
		}
	}
	return n
}

// parseVocabFast parses a vocab laid out as tokenizers writes it; ok is false for anything else
// (the slow path then decodes it and gives encoding/json's error). An id out of range or an
// entry past maxVocabID is an error as soon as it is read.
func parseVocabFast(raw []byte) (v map[string]int32, err error, ok bool) {
	s := string(raw)
	n := strings.Count(s, ":") // at least the entries: a size hint, capped by the bound
	v = make(map[string]int32, min(n, 1<<16))
	i := 0
	ws := func() {
		for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t') {
			i++
		}
	}
	ws()
	if i >= len(s) || s[i] != '{' {
		return nil, nil, false
	}
	i++
	ws()
	if i < len(s) && s[i] == '}' {
		i++
		ws()
		return v, nil, i == len(s)
	}
	for {
		ws()
		if i >= len(s) || s[i] != '"' {
			return nil, nil, false
		}
		start := i + 1
		escaped := false
		j := start
		for ; j < len(s) && s[j] != '"'; j++ {
			if s[j] == '\\' {
				escaped = true
				j++
			} else if s[j] < 0x20 {
				return nil, nil, false
			}
		}
		if j >= len(s) {
			return nil, nil, false
		}
		key := s[start:j]
		if escaped {
			var k string
			if json.Unmarshal(raw[start-1:j+1], &k) != nil {
				return nil, nil, false
			}
			key = k
		}
		i = j + 1
		ws()
		if i >= len(s) || s[i] != ':' {
			return nil, nil, false
		}
		i++
		ws()
		d0 := i
		if i < len(s) && s[i] == '-' {
			i++
		}
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		lit := s[d0:i]
		if lit == "" || lit == "-" || (i < len(s) && (s[i] == '.' || s[i] == 'e' || s[i] == 'E')) {
			return nil, nil, false
		}
		id, perr := strconv.ParseInt(lit, 10, 64)
		if perr != nil || id < 0 || id >= maxVocabID {
			return nil, formatErrorf("token %.32q has id %.32s out of range [0, %d)", key, lit, maxVocabID), true
		}
		v[key] = int32(id)
		if len(v) > maxVocabID {
			return nil, errTooManyTokens, true
		}
		ws()
		if i >= len(s) {
			return nil, nil, false
		}
		if s[i] == ',' {
			i++
			continue
		}
		if s[i] == '}' {
			i++
			ws()
			return v, nil, i == len(s)
		}
		return nil, nil, false
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
