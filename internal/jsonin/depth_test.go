package jsonin

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestCheckDepth(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	for _, tc := range []struct {
		name string
		doc  string
		err  int // offset of the refused bracket, or -1
	}{
		{"flat", `{"a":1,"b":[1,2,{"c":null}]}`, -1},
		{"64 deep", deep(64), -1},
		{"65 deep", deep(65), 64},
		{"objects 65 deep", strings.Repeat(`{"a":`, 65) + "1" + strings.Repeat("}", 65), 5 * 64},
		{"brackets in strings", `["` + strings.Repeat("[{", 100) + `"]`, -1},
		{"escaped quote", `["\"` + strings.Repeat("[", 100) + `"]`, -1},
		{"escaped backslash", `["\\",` + deep(65) + `]`, 6 + 63},
		{"unterminated string", `["` + strings.Repeat("[", 100), -1},
		{"unbalanced closers", strings.Repeat("]", 100) + deep(64), -1},
		{"8000 deep", deep(8000), 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckDepth([]byte(tc.doc), MaxDepth)
			var de *DepthError
			if tc.err < 0 && err != nil || tc.err >= 0 && (!errors.As(err, &de) || de.Offset != tc.err) {
				t.Fatalf("CheckDepth = %v, want offset %d", err, tc.err)
			}
			if tc.err < 0 && json.Valid([]byte(tc.doc)) {
				var v any
				if err := json.Unmarshal([]byte(tc.doc), &v); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	if got := CheckDepth([]byte(deep(100)), MaxDepth).Error(); got != "JSON nests deeper than 64 levels (at byte 64)" {
		t.Errorf("error text %q", got)
	}
}

func TestCheckDepthAllocs(t *testing.T) {
	b := []byte(strings.Repeat(`{"k":["x\"]",`, 10) + "1" + strings.Repeat("]}", 10))
	if n := testing.AllocsPerRun(100, func() { _ = CheckDepth(b, MaxDepth) }); n != 0 {
		t.Errorf("CheckDepth allocates %v times", n)
	}
}
