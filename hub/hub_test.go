//go:build !js

// (httptest needs listening sockets, which GOOS=js does not have.)

package hub

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/internal/hubtest"
)

func newClient(t *testing.T, h *hubtest.Hub) *Client {
	return &Client{Endpoint: h.Endpoint.URL, CacheDir: t.TempDir()}
}

var ctx = context.Background()

func sameFiles(t *testing.T, src string, s *Snapshot) {
	t.Helper()
	for name := range s.Files {
		a, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(s.Dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from the source", name)
		}
	}
}

func TestFetchPinsCommit(t *testing.T) {
	h := hubtest.New(t)
	src := golden.Path("tiny", "model")
	first := h.AddDir(t, "org/tiny", src)
	c := newClient(t, h)
	s, err := c.Fetch(ctx, "org/tiny", "", BaseModelFiles)
	if err != nil {
		t.Fatal(err)
	}
	if s.Commit != first || s.Revision != "main" || !strings.Contains(s.Dir, first) {
		t.Fatalf("snapshot %+v, want commit %s", s, first)
	}
	if len(s.Files) != 3 || len(s.Absent) != 1 || s.Absent[0] != "sentence_bert_config.json" {
		t.Fatalf("files %v absent %v", s.Files, s.Absent)
	}
	sameFiles(t, src, s)
	// model.safetensors went through the CDN: its etag is the X-Linked-Etag (sha256).
	if e := s.Files["model.safetensors"].ETag; len(e) != 66 {
		t.Errorf("model.safetensors etag %q, want the quoted sha256", e)
	}

	// main moves on: a new fetch of main gets the new commit; the old commit still loads, from
	// the cache, without a request.
	cfg, _ := os.ReadFile(filepath.Join(src, "config.json"))
	tok, _ := os.ReadFile(filepath.Join(src, "tokenizer.json"))
	st, _ := os.ReadFile(filepath.Join(src, "model.safetensors"))
	second := h.AddFiles("org/tiny", map[string][]byte{"config.json": append(bytes.TrimSpace(cfg), '\n', '\n'), "tokenizer.json": tok, "model.safetensors": st})
	s2, err := c.Fetch(ctx, "org/tiny", "main", BaseModelFiles)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Commit != second || s2.Commit == first {
		t.Fatalf("after the update main resolved to %s, want %s", s2.Commit, second)
	}
	n := len(h.Requests())
	s1, err := c.Fetch(ctx, "org/tiny", first, BaseModelFiles)
	if err != nil {
		t.Fatal(err)
	}
	if !s1.FromCache || s1.Commit != first || len(h.Requests()) != n {
		t.Fatalf("pinned re-load: fromCache=%v commit=%s requests %d→%d", s1.FromCache, s1.Commit, n, len(h.Requests()))
	}
	sameFiles(t, src, s1)
	// Every file after the first was requested at the commit, not at "main".
	for _, r := range h.Requests() {
		if strings.Contains(r.Path, "/resolve/main/") && !strings.HasSuffix(r.Path, "/config.json") {
			t.Errorf("%s requested at main, not at the commit", r.Path)
		}
	}
}

func TestTokenOnlyToEndpoint(t *testing.T) {
	h := hubtest.New(t)
	h.Token = "hf_secret"
	h.AddDir(t, "org/tiny", golden.Path("tiny", "model"))
	h.SetGated("org/tiny", true)
	c := newClient(t, h)
	c.Token = "hf_secret"
	if _, err := c.Fetch(ctx, "org/tiny", "", BaseModelFiles); err != nil {
		t.Fatal(err)
	}
	var cdn, ep int
	for _, r := range h.Requests() {
		switch r.Host {
		case strings.TrimPrefix(h.CDN.URL, "http://"):
			cdn++
			if r.Auth != "" {
				t.Errorf("the CDN got Authorization %q", r.Auth)
			}
		case strings.TrimPrefix(h.Endpoint.URL, "http://"):
			ep++
			if r.Auth != "Bearer hf_secret" {
				t.Errorf("the endpoint got Authorization %q", r.Auth)
			}
		}
	}
	if cdn == 0 || ep == 0 {
		t.Fatalf("requests: %d to the endpoint, %d to the CDN", ep, cdn)
	}
}

func TestTypedErrors(t *testing.T) {
	h := hubtest.New(t)
	h.Token = "hf_right"
	h.AddDir(t, "org/tiny", golden.Path("tiny", "model"))
	h.AddDir(t, "org/gated", golden.Path("tiny", "model"))
	h.SetGated("org/gated", true)
	h.AddFiles("org/empty", map[string][]byte{"README.md": []byte("hi")})
	cases := []struct {
		name, id, rev, token string
		kind                 error
		status               int
	}{
		{"missing repo, no token", "org/nope", "", "", ErrNotFound, 401},
		{"missing repo, token", "org/nope", "", "hf_right", ErrNotFound, 404},
		{"missing revision", "org/tiny", "v9", "", ErrNotFound, 404},
		{"missing file", "org/empty", "", "", ErrNotFound, 404},
		{"gated, no token", "org/gated", "", "", ErrGated, 401},
		{"gated, wrong token", "org/gated", "", "hf_wrong", ErrGated, 403},
		{"bad id", "../etc", "", "", ErrBadID, 0},
		{"bad revision", "org/tiny", "../x", "", ErrBadID, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, h)
			c.Token = tc.token
			_, err := c.Fetch(ctx, tc.id, tc.rev, BaseModelFiles)
			var e *Error
			if !errors.Is(err, tc.kind) || !errors.As(err, &e) || e.Status != tc.status {
				t.Fatalf("got %v, want %v with HTTP %d", err, tc.kind, tc.status)
			}
			if strings.Contains(err.Error(), "hub.") || strings.Contains(err.Error(), "*") {
				t.Errorf("error names a Go type: %v", err)
			}
			t.Log(err)
		})
	}
	t.Run("rate limited", func(t *testing.T) {
		h.RateLimit = 7
		defer func() { h.RateLimit = 0 }()
		_, err := newClient(t, h).Fetch(ctx, "org/tiny", "", BaseModelFiles)
		var e *Error
		if !errors.Is(err, ErrRateLimited) || !errors.As(err, &e) || e.RetryAfter != 7*time.Second || e.Status != 429 {
			t.Fatalf("got %v, want rate limited, retry after 7s", err)
		}
		t.Log(err)
	})
	t.Run("network", func(t *testing.T) {
		c := &Client{Endpoint: "http://127.0.0.1:1", CacheDir: t.TempDir()}
		_, err := c.Fetch(ctx, "org/tiny", "", BaseModelFiles)
		if !errors.Is(err, ErrNetwork) {
			t.Fatalf("got %v, want a network error", err)
		}
		t.Log(err)
	})
}

// cacheFiles lists every file under dir.
func cacheFiles(t *testing.T, dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, strings.TrimPrefix(p, dir))
		}
		return nil
	})
	return out
}

func TestCutDownloadLeavesNothing(t *testing.T) {
	h := hubtest.New(t)
	h.AddDir(t, "org/tiny", golden.Path("tiny", "model"))
	h.CutAt = 1000
	c := newClient(t, h)
	_, err := c.Fetch(ctx, "org/tiny", "", BaseModelFiles)
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("got %v, want a cut download", err)
	}
	t.Log(err)
	// Whole small files may stay (a later fetch of that commit reuses them), but not the cut
	// one, no part file, and no ref or snapshot record that would let a load use them.
	for _, f := range cacheFiles(t, c.CacheDir) {
		f = filepath.ToSlash(f)
		if strings.HasSuffix(f, "/model.safetensors") || strings.Contains(f, ".part") ||
			strings.Contains(f, "/refs/") || strings.HasSuffix(f, ".json") && strings.HasSuffix(filepath.Dir(f), "snapshots") {
			t.Errorf("left in the cache: %s", f)
		}
	}
	c.Offline = true
	if _, err := c.Fetch(ctx, "org/tiny", "", BaseModelFiles); !errors.Is(err, ErrNotCached) {
		t.Fatalf("offline after a cut download: %v, want not cached", err)
	}
	// With the cut gone the same cache completes.
	h.CutAt = 0
	c.Offline = false
	if _, err := c.Fetch(ctx, "org/tiny", "", BaseModelFiles); err != nil {
		t.Fatal(err)
	}
}

func TestDeclaredSizeOverLimit(t *testing.T) {
	h := hubtest.New(t)
	h.AddDir(t, "org/tiny", golden.Path("tiny", "model"))
	c := newClient(t, h)
	c.MaxBytes = 1 << 20 // over tokenizer.json (466,247 bytes), under model.safetensors (3,992,200)
	_, err := c.Fetch(ctx, "org/tiny", "", BaseModelFiles)
	var e *Error
	if !errors.Is(err, ErrTooLarge) || !errors.As(err, &e) || e.File != "model.safetensors" {
		t.Fatalf("got %v, want too large", err)
	}
	t.Log(err)
	for _, r := range h.Requests() {
		if strings.HasPrefix(r.Path, "/blobs/") {
			t.Errorf("the CDN was asked for %s after the endpoint declared the size", r.Path)
		}
	}
}

func TestOfflineFromCache(t *testing.T) {
	h := hubtest.New(t)
	src := golden.Path("tiny", "model")
	commit := h.AddDir(t, "org/tiny", src)
	c := newClient(t, h)
	if _, err := c.Fetch(ctx, "org/tiny", "", BaseModelFiles); err != nil {
		t.Fatal(err)
	}
	h.Endpoint.Close()
	h.CDN.Close()
	// The network is gone: main resolves to the cached commit.
	s, err := c.Fetch(ctx, "org/tiny", "", BaseModelFiles)
	if err != nil {
		t.Fatal(err)
	}
	if !s.FromCache || s.Commit != commit {
		t.Fatalf("offline: fromCache=%v commit=%s want %s", s.FromCache, s.Commit, commit)
	}
	sameFiles(t, src, s)
	// HF_HUB_OFFLINE-style: no request at all.
	c.Offline = true
	if _, err := c.Fetch(ctx, "org/tiny", "main", BaseModelFiles); err != nil {
		t.Fatal(err)
	}
	// A file never fetched is not invented.
	if _, err := c.Fetch(ctx, "org/tiny", "main", AdapterFiles); !errors.Is(err, ErrNotCached) {
		t.Fatalf("got %v, want not cached", err)
	}
	// An id never fetched, with the network down: the network error, not a cache miss.
	c.Offline = false
	if _, err := c.Fetch(ctx, "org/other", "", BaseModelFiles); !errors.Is(err, ErrNetwork) {
		t.Fatalf("got %v, want a network error", err)
	}
}

func TestAlternativeNames(t *testing.T) {
	h := hubtest.New(t)
	// An adapter saved as safetensors, another as the pickle: each gets its own weights.
	h.AddDir(t, "org/st", golden.Path("tiny", "adapters_st", "seq_bn"))
	h.AddDir(t, "org/bin", golden.Path("tiny", "adapters", "seq_bn"))
	c := newClient(t, h)
	for id, want := range map[string]string{"org/st": "adapter.safetensors", "org/bin": "pytorch_adapter.bin"} {
		s, err := c.Fetch(ctx, id, "", AdapterFiles)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := s.Files[want]; !ok {
			t.Errorf("%s: files %v, want %s", id, s.Files, want)
		}
	}
}

func TestIsID(t *testing.T) {
	for s, want := range map[string]bool{
		"bert-base-uncased": true, "sentence-transformers/all-MiniLM-L6-v2": true,
		"AdapterHub/bert-base-uncased-pf-imdb": true, "a/b/c": false, "../x": false, "a/..": false,
		"": false, "/abs": false, "./dir": false, "a b": false, "-x": false, "org/.hidden": false,
		strings.Repeat("a", 97): false,
	} {
		if IsID(s) != want {
			t.Errorf("IsID(%q) = %v", s, !want)
		}
	}
}

func TestNextLink(t *testing.T) {
	got := nextLink(`<https://huggingface.co/api/models?cursor=abc&filter=adapters>; rel="next"`, "https://huggingface.co/api/models")
	if got != "https://huggingface.co/api/models?cursor=abc&filter=adapters" {
		t.Fatal(got)
	}
	if nextLink(`<https://x/a>; rel="prev"`, "https://x/") != "" {
		t.Fatal("prev taken for next")
	}
}

func TestRefetchSameCommitSkipsCDN(t *testing.T) {
	h := hubtest.New(t)
	h.AddDir(t, "org/tiny", golden.Path("tiny", "model"))
	c := newClient(t, h)
	if _, err := c.Fetch(ctx, "org/tiny", "", BaseModelFiles); err != nil {
		t.Fatal(err)
	}
	n := len(h.Requests())
	s, err := c.Fetch(ctx, "org/tiny", "main", BaseModelFiles)
	if err != nil {
		t.Fatal(err)
	}
	if s.FromCache || len(s.Files) != 3 {
		t.Fatalf("re-fetch: %+v", s)
	}
	for _, r := range h.Requests()[n:] {
		if strings.HasPrefix(r.Path, "/blobs/") {
			t.Errorf("main still at the cached commit, yet the CDN was asked for %s", r.Path)
		}
	}
}

func TestRenamedRepoRelativeRedirect(t *testing.T) {
	h := hubtest.New(t)
	h.Token = "hf_tok"
	commit := h.AddDir(t, "old/tiny", golden.Path("tiny", "model"))
	h.Rename("old/tiny", "new/tiny")
	h.SetGated("new/tiny", true) // the token must survive the redirect on the endpoint
	c := newClient(t, h)
	c.Token = "hf_tok"
	s, err := c.Fetch(ctx, "old/tiny", "", BaseModelFiles)
	if err != nil {
		t.Fatal(err)
	}
	if s.Commit != commit {
		t.Fatalf("commit %s, want %s", s.Commit, commit)
	}
}
