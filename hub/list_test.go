//go:build !js

package hub

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/adapterwasm/adapterwasm/internal/hubtest"
)

// listingHub publishes hub repos tagged as either library tags them, and an AdapterHub all.json.
func listingHub(t *testing.T) *hubtest.Hub {
	h := hubtest.New(t)
	add := func(id string, info map[string]any) {
		h.AddFiles(id, map[string][]byte{"adapter_config.json": []byte("{}")})
		h.SetInfo(id, info)
	}
	// adapters 1.x: tag "adapters", model name at config.adapters.model_name.
	add("AdapterHub/roberta-base-pf-imdb", map[string]any{"tags": []string{"adapters", "roberta"}, "pipeline_tag": "text-classification",
		"config": map[string]any{"adapters": map[string]any{"model_name": "roberta-base"}}})
	// adapter-transformers 3.x: tag "adapter-transformers", config.adapter_transformers.model_name.
	add("AdapterHub/bert-base-uncased-pf-imdb", map[string]any{"tags": []string{"adapter-transformers", "bert"}, "pipeline_tag": "text-classification",
		"config": map[string]any{"adapter_transformers": map[string]any{"model_name": "bert-base-uncased"}}})
	add("AdapterHub/bert-base-uncased-pf-sst2", map[string]any{"tags": []string{"adapter-transformers", "bert"},
		"config": map[string]any{"adapter_transformers": map[string]any{"model_name": "bert-base-uncased"}}})
	// Tagged both ways: listed once.
	add("someone/both", map[string]any{"tags": []string{"adapters", "adapter-transformers"},
		"config": map[string]any{"adapters": map[string]any{"model_name": "bert-base-uncased"}}})
	// A model whose name merely starts with bert-base-uncased: not a match (== in list_adapters).
	add("someone/large", map[string]any{"tags": []string{"adapters"},
		"config": map[string]any{"adapters": map[string]any{"model_name": "bert-base-uncased-large"}}})
	// Not an adapter.
	add("someone/plain", map[string]any{"tags": []string{"transformers"}})
	h.AHList = []map[string]any{
		{"source": "ah", "adapter_id": "sentiment/sst-2@ukp", "model_name": "bert-base-uncased", "task": "sentiment", "subtask": "sst-2",
			"username": "ukp", "adapter_config": map[string]any{"original_ln_before": true, "reduction_factor": 16, "non_linearity": "relu"},
			"sha1_checksum": "abc"},
		{"source": "ah", "adapter_id": "qa/squad1@ukp", "model_name": "roberta-base", "task": "qa", "subtask": "squad1", "username": "ukp",
			"adapter_config": map[string]any{"architecture": "lora", "r": 8}},
	}
	return h
}

func TestListSourcesAndMatching(t *testing.T) {
	h := listingHub(t)
	l := &Lister{Client: newClient(t, h), AdapterHubURL: h.AH.URL + hubtest.AHPrefix}
	ids := func(as []AdapterInfo) map[string]AdapterInfo {
		m := map[string]AdapterInfo{}
		for _, a := range as {
			if _, dup := m[a.ID]; dup {
				t.Errorf("%s listed twice", a.ID)
			}
			m[a.ID] = a
		}
		return m
	}
	all, err := l.List(ctx, "", "")
	if err != nil {
		t.Fatal(err)
	}
	got := ids(all)
	if len(got) != 7 {
		t.Fatalf("listed %d: %v", len(got), got)
	}
	if all[0].Source != "ah" || all[len(all)-1].Source != "hf" {
		t.Errorf("order: %s first, %s last; want ah then hf as list_adapters", all[0].Source, all[len(all)-1].Source)
	}
	a := got["sentiment/sst-2@ukp"]
	if a.Method != "bottleneck" || a.Task != "sentiment" || a.Subtask != "sst-2" || a.ModelName != "bert-base-uncased" || a.SHA1 != "abc" {
		t.Errorf("ah entry %+v", a)
	}
	if got["qa/squad1@ukp"].Method != "lora" {
		t.Errorf("lora entry %+v", got["qa/squad1@ukp"])
	}
	b := got["AdapterHub/bert-base-uncased-pf-imdb"]
	if b.Source != "hf" || b.ModelName != "bert-base-uncased" || b.Username != "AdapterHub" || len(b.SHA1) != 40 || b.PipelineTag != "text-classification" {
		t.Errorf("hf entry %+v", b)
	}

	bert, err := l.List(ctx, "", "bert-base-uncased")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"sentiment/sst-2@ukp", "AdapterHub/bert-base-uncased-pf-imdb", "AdapterHub/bert-base-uncased-pf-sst2", "someone/both"}
	g := ids(bert)
	if len(g) != len(want) {
		t.Fatalf("bert-base-uncased: %v", g)
	}
	for _, id := range want {
		if _, ok := g[id]; !ok {
			t.Errorf("bert-base-uncased: %s missing", id)
		}
	}
	for src, n := range map[string]int{"ah": 1, "hf": 3} {
		got, err := l.List(ctx, src, "bert-base-uncased")
		if err != nil || len(got) != n {
			t.Errorf("source %s: %d entries (%v), want %d", src, len(got), err, n)
		}
		for _, a := range got {
			if a.Source != src {
				t.Errorf("source %s listed %+v", src, a)
			}
		}
	}
	if _, err := l.List(ctx, "xx", ""); err == nil {
		t.Error("unknown source accepted")
	}
}

func TestListPagesAndCache(t *testing.T) {
	h := listingHub(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := newClient(t, h)
	l := &Lister{Client: c, AdapterHubURL: h.AH.URL + hubtest.AHPrefix, Now: func() time.Time { return now }}
	count := func() (pages int) {
		for _, r := range h.Requests() {
			if r.Path == "/api/models" {
				pages++
			}
		}
		return
	}
	if _, err := l.List(ctx, "hf", ""); err != nil {
		t.Fatal(err)
	}
	// 3 repos tagged "adapters" and 3 "adapter-transformers", 2 per page: 2 + 2 pages.
	if n := count(); n != 4 {
		t.Fatalf("%d pages requested, want 4", n)
	}
	if _, err := l.List(ctx, "hf", ""); err != nil || count() != 4 {
		t.Fatalf("a second listing within the TTL asked again (%d pages, %v)", count(), err)
	}
	// Past the TTL the listing is asked again (the file's mtime is the clock here).
	now = time.Now().Add(ListingTTL + time.Minute)
	if _, err := l.List(ctx, "hf", ""); err != nil || count() != 8 {
		t.Fatalf("after the TTL: %d pages, %v", count(), err)
	}
	// Offline: the stale copy is used.
	c.Offline = true
	got, err := l.List(ctx, "", "")
	if err == nil {
		t.Fatalf("offline with no ah listing cached: %d entries, want an error", len(got))
	}
	if !errors.Is(err, ErrNotCached) {
		t.Fatalf("got %v", err)
	}
	got, err = l.List(ctx, "hf", "")
	if err != nil || len(got) != 5 {
		t.Fatalf("offline hf listing: %d, %v", len(got), err)
	}
	b, _ := json.Marshal(got[0])
	t.Logf("%s", b)
}

func TestListErrors(t *testing.T) {
	h := listingHub(t)
	h.RateLimit = 3
	l := &Lister{Client: newClient(t, h)}
	_, err := l.List(ctx, "hf", "")
	var e *Error
	if !errors.Is(err, ErrRateLimited) || !errors.As(err, &e) || e.RetryAfter != 3*time.Second {
		t.Fatalf("got %v", err)
	}
	t.Log(err)
}

// TestAdapterHubIndex: index/{model_name}.json is fetched, cached and bounded as listings are;
// a model name that is no hub id, a missing index, one over the bound (declared, or chunked
// without a length) and one that is not JSON are typed errors; offline, the cached copy serves.
func TestAdapterHubIndex(t *testing.T) {
	h := hubtest.New(t)
	idx := []byte(`{"sentiment": {"sst-2": {"default": "adapters/ukp/bert-base-uncased_sentiment_sst-2_pfeiffer.json"}}}`)
	h.AHFiles = map[string][]byte{"index/bert-base-uncased.json": idx, "index/org/big.json": make([]byte, 5000),
		"index/org/text.json": []byte("not json")}
	c := &Client{Endpoint: h.Endpoint.URL, CacheDir: t.TempDir()}
	l := &Lister{Client: c, AdapterHubURL: h.AH.URL + hubtest.AHPrefix}
	got, err := l.AdapterHubIndex(t.Context(), "bert-base-uncased", 0)
	if err != nil || string(got) != string(idx) {
		t.Fatalf("%q %v", got, err)
	}
	for _, tc := range []struct {
		model string
		max   int64
		kind  error
	}{
		{"../x", 0, ErrBadID}, {"a/b/c", 0, ErrBadID}, {"", 0, ErrBadID},
		{"nobody", 0, ErrNotFound}, {"org/big", 1000, ErrTooLarge}, {"org/text", 0, ErrProtocol},
	} {
		if _, err := l.AdapterHubIndex(t.Context(), tc.model, tc.max); !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), "AdapterHub index of") {
			t.Errorf("%q: %v, want %v", tc.model, err, tc.kind)
		}
	}
	h.AHChunked = true
	if _, err := l.AdapterHubIndex(t.Context(), "org/big", 1000); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "more than 1000 bytes") {
		t.Errorf("chunked: %v", err)
	}
	n := len(h.Requests())
	c.Offline = true
	if got, err := l.AdapterHubIndex(t.Context(), "bert-base-uncased", 0); err != nil || !json.Valid(got) || !strings.Contains(string(got), "sst-2_pfeiffer") || len(h.Requests()) != n {
		t.Fatalf("offline: %q %v", got, err)
	}
	if _, err := l.AdapterHubIndex(t.Context(), "roberta-base", 0); !errors.Is(err, ErrNotCached) {
		t.Fatalf("offline, never fetched: %v", err)
	}
}
