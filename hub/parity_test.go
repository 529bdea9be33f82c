package hub

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var updateParity = flag.Bool("update-listing-parity", false, "rewrite testdata/hub/listing/parity.json from this package's parsers")

// parityCase is one input of the listing parsers and what this package makes of it. js/src/listing.js
// reads the same listings in the browser (it cannot call these functions: they live in the Wasm
// module, and listAdapters must not wait for it); js/test/listing-parity.test.js holds it to
// testdata/hub/listing/parity.json, which this test writes and checks is current.
type parityCase struct {
	Kind   string        `json:"kind"` // "models" (one page of /api/models), "all" (all.json), "link"
	Body   string        `json:"body,omitempty"`
	Link   string        `json:"link,omitempty"`
	Cur    string        `json:"cur,omitempty"`
	Want   []AdapterInfo `json:"want"`
	Error  bool          `json:"error,omitempty"`
	NextTo string        `json:"next,omitempty"`
}

var parityInputs = []parityCase{
	{Kind: "models", Body: `[]`},
	{Kind: "models", Body: `[{"id": "AdapterHub/bert-base-uncased-pf-imdb", "sha": "abc", "pipeline_tag": "text-classification",
		"config": {"adapter_transformers": {"model_name": "bert-base-uncased"}}}, {"modelId": "x/y"}, {"sha": "no id"},
		{"id": "org/a", "config": {"adapters": {"model_name": "roberta-base"}, "adapter_transformers": {"model_name": "other"}}},
		{"id": "one-part", "config": null}, {"id": "org/b", "config": {"adapters": {}}}, {"id": "org/c", "extra": [1, {"x": 2}]}]`},
	{Kind: "models", Body: `{}`},
	{Kind: "models", Body: `[1]`},
	{Kind: "models", Body: `[null]`},
	{Kind: "models", Body: `[{"id": 5}]`},
	{Kind: "models", Body: `[{"id": "a", "sha": 1}]`},
	{Kind: "models", Body: `[{"id": "a", "pipeline_tag": []}]`},
	{Kind: "models", Body: `[{"id": "a", "config": "x"}]`},
	{Kind: "models", Body: `[{"id": "a", "config": {"adapters": {"model_name": []}}}]`},
	{Kind: "models", Body: `[{"id": "a", "config": {"adapters": "x"}}]`},
	{Kind: "all", Body: `[]`},
	{Kind: "all", Body: `[{"source": "ah", "adapter_id": "sentiment/imdb@ukp", "model_name": "bert-base-uncased", "task": "sentiment",
		"subtask": "imdb", "username": "ukp", "adapter_config": {"reduction_factor": 16}, "sha1_checksum": "ab12"},
		{"adapter_id": "ner/conll@ukp", "model_name": "roberta-base", "adapter_config": {"architecture": "lora", "r": 8}},
		{"adapter_id": "x", "adapter_config": {"architecture": ""}}, {"adapter_id": "y", "adapter_config": {"architecture": null}},
		{"adapter_id": "z", "adapter_config": null}, {"adapter_id": "w"}, {"source": null, "adapter_id": "v", "task": null}]`},
	{Kind: "all", Body: `{"not": "a list"}`},
	{Kind: "all", Body: `[null]`},
	{Kind: "all", Body: `[1]`},
	{Kind: "all", Body: `[{"adapter_id": {}}]`},
	{Kind: "all", Body: `[{"adapter_id": "a", "username": 7}]`},
	{Kind: "all", Body: `[{"adapter_id": "a", "adapter_config": {"architecture": 5}}]`},
	{Kind: "all", Body: `[{"adapter_id": "a", "adapter_config": [1]}]`},
	{Kind: "all", Body: `[{"adapter_id": "a", "adapter_config": "lora"}]`},
	{Kind: "link", Link: `<https://huggingface.co/api/models?cursor=2>; rel="next"`, Cur: "https://huggingface.co/api/models?filter=adapters"},
	{Kind: "link", Link: `</api/models?cursor=2>; rel="next"`, Cur: "http://127.0.0.1:8080/api/models?filter=adapters"},
	{Kind: "link", Link: `<https://h/p?c=1>; rel="prev", <https://h/p?c=3>; rel=next`, Cur: "https://h/p"},
	{Kind: "link", Link: `<https://h/p?c=1>; rel="prev"`, Cur: "https://h/p"},
	{Kind: "link", Link: ``, Cur: "https://h/p"},
	{Kind: "link", Link: `https://h/p?c=3; rel="next"`, Cur: "https://h/p"},
}

// TestListingParity: parseModels, parseAllJSON and nextLink on parityInputs give what
// testdata/hub/listing/parity.json records (-update-listing-parity rewrites it).
func TestListingParity(t *testing.T) {
	var got []parityCase
	for _, c := range parityInputs {
		var err error
		switch c.Kind {
		case "models":
			c.Want, err = parseModels([]byte(c.Body))
		case "all":
			c.Want, err = parseAllJSON([]byte(c.Body))
		case "link":
			c.NextTo = nextLink(c.Link, c.Cur)
		}
		if err != nil {
			c.Want, c.Error = nil, true
		}
		got = append(got, c)
	}
	b, err := json.MarshalIndent(map[string]any{"written_by": "go test ./hub -run TestListingParity -update-listing-parity", "cases": got}, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, '\n')
	file := filepath.Join("..", "testdata", "hub", "listing", "parity.json")
	if *updateParity {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(have) != string(b) {
		t.Fatalf("%s is not what the parsers give now: run go test ./hub -run TestListingParity -update-listing-parity (and js/test/listing-parity.test.js)", file)
	}
}
