package adapters

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// ahCases is testdata/hub/ah/cases.json (tools/reference/make_ah_cases.py): the adapters
// library's pull_from_hub on the index files beside it.
type ahCases struct {
	ConfigHashes map[string]string `json:"config_hashes"`
	Cases        []struct {
		Identifier    string  `json:"identifier"`
		ModelName     string  `json:"model_name"`
		AdapterConfig *string `json:"adapter_config"`
		Strict        bool    `json:"strict"`
		NeedsIndex    bool    `json:"needs_index"`
		ConfigHash    string  `json:"config_hash"`
		RepoID        string  `json:"repo_id"`
		Error         string  `json:"error"`
		Message       string  `json:"message"`
	} `json:"cases"`
}

const ahDir = "../testdata/hub/ah"

// TestResolveAdapterHub resolves every identifier of the library's cases to the repository it
// names, or fails with the kind of error it raises.
func TestResolveAdapterHub(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(ahDir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cs ahCases
	if err := json.Unmarshal(b, &cs); err != nil {
		t.Fatal(err)
	}
	for name, want := range cs.ConfigHashes {
		if got, err := ConfigStringHash(name); err != nil || got != want {
			t.Errorf("config %s: hash %s %v, want %s", name, got, err, want)
		}
	}
	resolved := 0
	for _, c := range cs.Cases {
		config := ""
		if c.AdapterConfig != nil {
			config = *c.AdapterConfig
			if got, err := ConfigStringHash(config); err != nil || got != c.ConfigHash {
				t.Errorf("config %s: hash %s %v, want %s", config, got, err, c.ConfigHash)
			}
		}
		if AdapterHubNeedsIndex(c.Identifier) != c.NeedsIndex {
			t.Errorf("%q: needs index %v, want %v", c.Identifier, !c.NeedsIndex, c.NeedsIndex)
		}
		var index []byte
		if c.NeedsIndex {
			if index, err = os.ReadFile(filepath.Join(ahDir, "index", c.ModelName+".json")); err != nil {
				t.Fatal(err)
			}
		}
		got, err := ResolveAdapterHub(index, c.Identifier, c.ModelName, config, c.Strict)
		switch {
		case c.RepoID != "":
			if err != nil || got != c.RepoID {
				t.Errorf("%q (%s, %q, strict %v): %q %v, want %q", c.Identifier, c.ModelName, config, c.Strict, got, err, c.RepoID)
			}
			resolved++
		default:
			kind := ErrAHNotFound
			if strings.Contains(c.Message, "ultiple") {
				kind = ErrAHAmbiguous
			}
			if !errors.Is(err, kind) {
				t.Errorf("%q (%s, %q, strict %v): %q %v, want %v (the library: %s: %s)", c.Identifier, c.ModelName, config, c.Strict, got, err, kind, c.Error, c.Message)
			}
		}
	}
	t.Logf("%d cases, %d resolved as the library does, the rest fail as it does", len(cs.Cases), resolved)
}

// TestResolveAdapterHubHostile: an index of the wrong shape, too deep, or not JSON is a typed
// error, never a panic.
func TestResolveAdapterHubHostile(t *testing.T) {
	for _, idx := range []string{
		``, `[]`, `{"sentiment": 1}`, `{"sentiment": {"sst-2": 1}}`, `{"sentiment": {"sst-2": {"default": 5}}}`,
		`{"sentiment": {"sst-2": {"x": {"versions": 3}}}}`, `{"sentiment": {"sst-2": {"x": {"versions": {"ukp": 1}}}}}`,
		`{"sentiment": {"sst-2": {"x": 1}}}`, strings.Repeat(`{"a":`, 10000) + `1` + strings.Repeat(`}`, 10000),
	} {
		got, err := ResolveAdapterHub([]byte(idx), "sentiment/sst-2@ukp", "bert-base-uncased", "", false)
		var e *AdapterHubError
		if err == nil || !errors.As(err, &e) {
			t.Errorf("%.60s: %q %v, want an AdapterHubError", idx, got, err)
		}
	}
	if _, err := ResolveAdapterHub([]byte(`{}`), "sentiment/sst-2", "m", "no_such_config", false); !errors.Is(err, ErrAHConfig) {
		t.Errorf("unknown config: %v", err)
	}
	// An entry (or "@org/file") whose file name is no hub repository's name is refused before any
	// request: ErrAHIndex for the index's entries, ErrAHNotFound for the identifier's.
	for entry, want := range map[string]error{
		"adapters/ukp/..json": ErrAHIndex, "adapters/ukp/": ErrAHIndex, "adapters/ukp/a b.json": ErrAHIndex,
		"adapters/ukp/%2e%2e.json": ErrAHIndex, "adapters/ukp/-x.json": ErrAHIndex, "adapters/ukp/" + strings.Repeat("x", 97) + ".json": ErrAHIndex,
		"adapters/ukp/../../../etc/passwd.json": nil, // the library's basename: AdapterHub/passwd, a name like any other
	} {
		idx, _ := json.Marshal(map[string]any{"sentiment": map[string]any{"sst-2": map[string]any{"default": entry}}})
		got, err := ResolveAdapterHub(idx, "sentiment/sst-2", "m", "", false)
		if want == nil {
			if err != nil || got != "AdapterHub/passwd" {
				t.Errorf("%q: %q %v", entry, got, err)
			}
		} else if !errors.Is(err, want) || !strings.Contains(err.Error(), "names no hub repository") {
			t.Errorf("%q: %q %v, want %v", entry, got, err, want)
		}
	}
	for _, id := range []string{"@ukp/..", "@ukp/.x", "@ukp/-x"} {
		if got, err := ResolveAdapterHub(nil, id, "m", "", false); !errors.Is(err, ErrAHNotFound) {
			t.Errorf("%q: %q %v, want ErrAHNotFound", id, got, err)
		}
	}
}
