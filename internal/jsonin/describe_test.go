package jsonin

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDescribe(t *testing.T) {
	type head struct {
		Label2ID  map[string]int `json:"label2id"`
		NumLabels *int           `json:"num_labels"`
		Layers    []int          `json:"layers"`
		Name      string         `json:"name"`
		Scale     float64        `json:"scale"`
	}
	for _, tc := range []struct{ doc, want string }{
		{`{"label2id":{"a":{"b":1}}}`, `"label2id" is an object, want an integer`},
		{`{"num_labels":"3"}`, `"num_labels" is a string, want an integer`},
		{`{"num_labels":1.5}`, `"num_labels" = 1.5, want an integer in range`},
		{`{"num_labels":9223372036854775808}`, `"num_labels" = 9223372036854775808, want an integer in range`},
		{`{"scale":1e400}`, `"scale" = 1e400, want a number in range`},
		{`{"layers":{}}`, `"layers" is an object, want a list`},
		{`{"name":[1]}`, `"name" is an array, want a string`},
		{`[1]`, `the document is an array, want an object`},
	} {
		var h head
		err := json.Unmarshal([]byte(tc.doc), &h)
		got := Describe(err)
		if got != tc.want {
			t.Errorf("%s: %q, want %q (encoding/json: %v)", tc.doc, got, tc.want, err)
		}
		if strings.Contains(got, "Go ") || strings.Contains(got, "head") {
			t.Errorf("%s: %q names a Go type", tc.doc, got)
		}
	}
	if got := Describe(errors.New("x")); got != "x" {
		t.Errorf("other error: %q", got)
	}
}
