package tokenizer

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"regexp/syntax"
	"strings"

	"github.com/adapterwasm/adapterwasm/internal/jsonin"
)

// maxNormSteps bounds the normalizers of a Sequence (nested ones counted); XLM-R has 3.
const maxNormSteps = 16

// parseSteps decodes a Precompiled, Strip or Replace normalizer, or a Sequence of them
// (nested Sequences are flattened, as applying them is the same), appending to steps.
func parseSteps(raw json.RawMessage, steps []normStep, depth int) ([]normStep, error) {
	var n struct {
		Type        string            `json:"type"`
		Normalizers []json.RawMessage `json:"normalizers"`
		Charsmap    *string           `json:"precompiled_charsmap"`
		StripLeft   *bool             `json:"strip_left"`
		StripRight  *bool             `json:"strip_right"`
		Pattern     *struct {
			String *string `json:"String"`
			Regex  *string `json:"Regex"`
		} `json:"pattern"`
		Content *string `json:"content"`
	}
	if err := json.Unmarshal(raw, &n); err != nil {
		return nil, formatErrorf("normalizer: %s", jsonin.Describe(err))
	}
	if len(steps) >= maxNormSteps {
		return nil, unsupportedf("normalizer Sequence of more than %d normalizers", maxNormSteps)
	}
	switch n.Type {
	case "Sequence":
		if n.Normalizers == nil {
			return nil, FormatError("normalizer Sequence: no normalizers")
		}
		for _, sub := range n.Normalizers {
			var err error
			if steps, err = parseSteps(sub, steps, depth+1); err != nil {
				return nil, err
			}
		}
		return steps, nil
	case "Precompiled":
		if n.Charsmap == nil {
			return nil, FormatError("normalizer Precompiled: no precompiled_charsmap")
		}
		if base64.StdEncoding.DecodedLen(len(*n.Charsmap)) > maxCharsmapBytes+3 {
			return nil, unsupportedf("normalizer Precompiled: precompiled_charsmap of %d base64 characters, at most %d bytes", len(*n.Charsmap), maxCharsmapBytes)
		}
		b, err := base64.StdEncoding.DecodeString(*n.Charsmap)
		if err != nil {
			return nil, FormatError("normalizer Precompiled: precompiled_charsmap is not base64")
		}
		pc, err := newPrecompiled(b)
		if err != nil {
			return nil, err
		}
		return append(steps, normStep{kind: stepPrecompiled, pc: pc}), nil
	case "Strip":
		if n.StripLeft == nil || n.StripRight == nil {
			return nil, FormatError("normalizer Strip: strip_left and strip_right are required")
		}
		return append(steps, normStep{kind: stepStrip, left: *n.StripLeft, right: *n.StripRight}), nil
	case "Replace":
		if n.Pattern == nil || n.Content == nil || (n.Pattern.String == nil) == (n.Pattern.Regex == nil) {
			return nil, FormatError("normalizer Replace: needs a pattern (String or Regex) and a content")
		}
		var m replaceMatcher
		var err error
		if n.Pattern.String != nil {
			if *n.Pattern.String == "" {
				return nil, UnsupportedError("normalizer Replace: empty pattern")
			}
			m.lit = []byte(*n.Pattern.String)
		} else if m, err = replaceRegexp(*n.Pattern.Regex); err != nil {
			return nil, err
		}
		return append(steps, normStep{kind: stepReplace, match: m, content: []rune(*n.Content)}), nil
	case "":
		return nil, FormatError("normalizer without a type")
	}
	return nil, unsupportedf("normalizer %s in a Sequence (Precompiled, Strip and Replace are implemented there)", jsonin.Clip(n.Type))
}

// replaceRegexp compiles a Replace pattern. The reference runs it with Oniguruma; Go's
// regexp (RE2) finds the same leftmost-first matches only for a plain subset: literals,
// bracketed classes of literal characters, groups, alternation and repetition. Anything whose
// meaning differs between the two (\s \w \d \b \p, POSIX classes, '.', anchors, flags) or that
// can match the empty string is an UnsupportedError.
func replaceRegexp(pat string) (replaceMatcher, error) {
	unsupported := func(why string) error {
		return unsupportedf("normalizer Replace: pattern %q (%s)", jsonin.Clip(pat), why)
	}
	if pat == "" {
		return replaceMatcher{}, unsupported("empty")
	}
	for i := 0; i < len(pat); i++ {
		if pat[i] == '\\' && i+1 < len(pat) {
			c := pat[i+1]
			if ('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') && !strings.ContainsRune("tnrfv", rune(c)) {
				return replaceMatcher{}, unsupported("escape \\" + string(c))
			}
			i++
		}
	}
	if strings.Contains(pat, "[:") {
		return replaceMatcher{}, unsupported("POSIX class")
	}
	if strings.Contains(strings.ReplaceAll(pat, "(?:", ""), "(?") {
		return replaceMatcher{}, unsupported("flag")
	}
	re, err := syntax.Parse(pat, syntax.Perl)
	if err != nil {
		return replaceMatcher{}, unsupported("not a regular expression Go reads")
	}
	if !plainRegexp(re) {
		return replaceMatcher{}, unsupported("operators beyond literals, classes, groups and repetition")
	}
	c, err := regexp.Compile(pat)
	if err != nil {
		return replaceMatcher{}, unsupported("not a regular expression Go reads")
	}
	if c.MatchString("") {
		return replaceMatcher{}, unsupported("matches the empty string")
	}
	re = re.Simplify()
	switch {
	case re.Op == syntax.OpLiteral:
		return replaceMatcher{lit: []byte(string(re.Rune))}, nil
	case re.Op == syntax.OpPlus && re.Flags&syntax.NonGreedy == 0 && re.Sub[0].Op == syntax.OpLiteral && len(re.Sub[0].Rune) == 1:
		return replaceMatcher{lit: []byte(string(re.Sub[0].Rune)), min: 1}, nil
	}
	if r, n, ok := repeatedRune(re); ok {
		return replaceMatcher{lit: []byte(string(r)), min: n}, nil
	}
	return replaceMatcher{re: c}, nil
}

// repeatedRune recognizes x{n,} after Simplify (literals of x, then x+ or x*): x and n.
func repeatedRune(re *syntax.Regexp) (rune, int, bool) {
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 {
		return 0, 0, false
	}
	last := re.Sub[len(re.Sub)-1]
	if (last.Op != syntax.OpPlus && last.Op != syntax.OpStar) || last.Sub[0].Op != syntax.OpLiteral ||
		len(last.Sub[0].Rune) != 1 || last.Flags&syntax.NonGreedy != 0 {
		return 0, 0, false
	}
	r, n := last.Sub[0].Rune[0], 0
	if last.Op == syntax.OpPlus {
		n++
	}
	for _, sub := range re.Sub[:len(re.Sub)-1] {
		if sub.Op != syntax.OpLiteral {
			return 0, 0, false
		}
		for _, x := range sub.Rune {
			if x != r {
				return 0, 0, false
			}
			n++
		}
	}
	return r, n, true
}

func plainRegexp(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpLiteral, syntax.OpCharClass:
		if re.Flags&syntax.FoldCase != 0 {
			return false
		}
	case syntax.OpConcat, syntax.OpAlternate, syntax.OpCapture, syntax.OpStar, syntax.OpPlus,
		syntax.OpQuest, syntax.OpRepeat:
	default:
		return false
	}
	for _, sub := range re.Sub {
		if !plainRegexp(sub) {
			return false
		}
	}
	return true
}
