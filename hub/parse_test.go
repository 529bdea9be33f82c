package hub

// Listing parsers on hostile input; these run under GOOS=js too (no sockets), where the
// goroutine stack is small.

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseListingsHostile(t *testing.T) {
	deep := strings.Repeat("[", 200000) + strings.Repeat("]", 200000)
	deepObj := strings.Repeat(`{"a":`, 100000) + "1" + strings.Repeat("}", 100000)
	for name, body := range map[string]string{
		"not json":            "<html>",
		"object, not list":    `{"id":"x"}`,
		"deep array":          deep,
		"deep config":         `[{"adapter_id":"a","adapter_config":` + deep + `}]`,
		"deep config object":  `[{"adapter_id":"a","adapter_config":` + deepObj + `}]`,
		"list of strings":     `["a","b"]`,
		"wrong field type":    `[{"id":7,"adapter_id":7}]`,
		"config not a dict":   `[{"id":"a","config":"x"}]`,
		"truncated":           `[{"id":"a"`,
		"empty":               ``,
		"nul bytes":           "[\x00]",
		"long id":             `[{"id":"` + strings.Repeat("x", 1<<20) + `","adapter_id":"y"}]`,
		"unknown deep fields": `[{"id":"a","x":` + deepObj + `}]`,
	} {
		for _, parse := range []func([]byte) ([]AdapterInfo, error){parseAllJSON, parseModels} {
			got, err := parse([]byte(body))
			if err != nil && !errors.Is(err, ErrProtocol) {
				t.Errorf("%s: untyped error %v", name, err)
			}
			if err != nil && (strings.Contains(err.Error(), "unmarshal") || strings.Contains(err.Error(), "invalid character")) {
				t.Errorf("%s: error leaks the decoder's words: %v", name, err)
			}
			_ = got
		}
	}
	// The shapes that should parse do.
	got, err := parseAllJSON([]byte(`[{"source":"ah","adapter_id":"sentiment/sst-2@ukp","model_name":"bert-base-uncased","adapter_config":{"architecture":"prefix_tuning"}}]`))
	if err != nil || len(got) != 1 || got[0].Method != "prefix_tuning" || got[0].ModelName != "bert-base-uncased" {
		t.Fatalf("%+v %v", got, err)
	}
	got, err = parseModels([]byte(`[{"id":"o/n","sha":"s","config":{"adapter_transformers":{"model_name":"m"}}},{"modelId":"o/old"},{"sha":"no id"}]`))
	if err != nil || len(got) != 2 || got[0].ModelName != "m" || got[1].ID != "o/old" || got[1].Username != "o" {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestRetryAfter(t *testing.T) {
	if d := retryAfter("12"); d != 12*time.Second {
		t.Error(d)
	}
	if d := retryAfter(time.Now().Add(90 * time.Second).UTC().Format(httpTimeFormat)); d < 80*time.Second || d > 91*time.Second {
		t.Error(d)
	}
	for _, v := range []string{"", "-1", "soon", "99999999999999999999"} {
		if d := retryAfter(v); d != 0 {
			t.Errorf("%q: %v", v, d)
		}
	}
}

const httpTimeFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

func TestIDsAndRevisionsHostile(t *testing.T) {
	for _, r := range []string{"main", "v1.0", "refs/pr/1", strings.Repeat("a", 40)} {
		if !validRevision(r) {
			t.Errorf("revision %q refused", r)
		}
	}
	for _, r := range []string{"", "../x", "a/../b", "/x", "a//b", "a b", "a\x00", strings.Repeat("a", 256), "%2e%2e"} {
		if validRevision(r) {
			t.Errorf("revision %q accepted", r)
		}
	}
	c := &Client{Endpoint: "https://hub.example/"}
	if u := c.ResolveURL("o/n", "refs/pr/1", "config.json"); u != "https://hub.example/o/n/resolve/refs%2Fpr%2F1/config.json" {
		t.Error(u)
	}
}

func TestStatusErrorKindsAndServerWords(t *testing.T) {
	c := &Client{}
	for _, tc := range []struct {
		status int
		code   string
		token  string
		kind   error
	}{
		{404, "", "", ErrNotFound},
		{404, "EntryNotFound", "", ErrNotFound},
		{404, "RevisionNotFound", "", ErrNotFound},
		{401, "RepoNotFound", "", ErrNotFound},
		{401, "", "", ErrNotFound}, // the hub's answer for missing and private repos alike
		{401, "", "tok", ErrGated},
		{401, "GatedRepo", "", ErrGated},
		{403, "GatedRepo", "tok", ErrGated},
		{403, "", "", ErrGated},
		{429, "", "", ErrRateLimited},
		{500, "", "", ErrProtocol},
	} {
		c.Token = tc.token
		h := http.Header{}
		if tc.code != "" {
			h.Set("X-Error-Code", tc.code)
		}
		h.Set("X-Error-Message", "line one\n\x1b[31mred\x1b[0m "+strings.Repeat("x", 500))
		err := c.statusError(&http.Response{StatusCode: tc.status, Header: h}, answer{}, "o/n", "main", "config.json", false)
		if !errors.Is(err, tc.kind) {
			t.Errorf("%d %q token %q: %v, want %v", tc.status, tc.code, tc.token, err, tc.kind)
		}
		if msg := err.Error(); strings.ContainsAny(msg, "\n\x1b") || len(msg) > 400 {
			t.Errorf("server words reach the terminal unfiltered or uncut: %q", msg)
		}
	}
}
