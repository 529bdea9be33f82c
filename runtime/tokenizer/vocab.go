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
