package jsonin

import "unicode/utf8"

// Clip cuts a string read from a stranger's file to a short prefix (32 bytes, on a character
// boundary, "…" marking the cut) for quoting in an error message.
func Clip(s string) string {
	const n = 32
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
