//go:build !js

package hub

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/adapterwasm/adapterwasm/internal/golden"
	"github.com/adapterwasm/adapterwasm/internal/hubtest"
)

// TestFetchBytes: the in-memory fetch pins the commit as Fetch does, returns the repository's
// bytes, writes nothing, keeps the token on the endpoint, and fails with the same typed errors;
// the total limit is checked against the declared size before the CDN is asked.
func TestFetchBytes(t *testing.T) {
	h := hubtest.New(t)
	h.Token = "hf_secret"
	src := golden.Path("tiny", "model")
	commit := h.AddDir(t, "org/tiny", src)
	h.AddDir(t, "org/gated", src)
	h.SetGated("org/gated", true)
	h.AddFiles("org/empty", map[string][]byte{"README.md": []byte("hi")})

	c := &Client{Endpoint: h.Endpoint.URL, Token: "hf_secret"}
	s, files, err := c.FetchBytes(ctx, "org/tiny", "", BaseModelFiles, 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	if s.Commit != commit || s.Dir != "" || len(files) != 3 || len(s.Absent) != 1 {
		t.Fatalf("snapshot %+v, %d files; want commit %s, 3 files", s, len(files), commit)
	}
	for name, b := range files {
		want, err := os.ReadFile(filepath.Join(src, name))
		if err != nil || !bytes.Equal(b, want) {
			t.Errorf("%s differs from the source (%v)", name, err)
		}
		if s.Files[name].Size != int64(len(b)) {
			t.Errorf("%s: recorded size %d, got %d bytes", name, s.Files[name].Size, len(b))
		}
	}
	for _, r := range h.Requests() {
		onCDN := r.Host == strings.TrimPrefix(h.CDN.URL, "http://")
		if onCDN && r.Auth != "" || !onCDN && r.Auth != "Bearer hf_secret" {
			t.Errorf("%s%s got Authorization %q", r.Host, r.Path, r.Auth)
		}
	}

	// Pinned to a commit: every file is asked at it.
	s, _, err = c.FetchBytes(ctx, "org/tiny", commit, BaseModelFiles, 64<<20)
	if err != nil || s.Commit != commit {
		t.Fatalf("at the commit: %v %+v", err, s)
	}

	cases := []struct {
		name, id, rev, token string
		total                int64
		kind                 error
		status               int
	}{
		{"missing repo", "org/nope", "", "", 64 << 20, ErrNotFound, 401},
		{"missing revision", "org/tiny", "v9", "", 64 << 20, ErrNotFound, 404},
		{"missing file", "org/empty", "", "", 64 << 20, ErrNotFound, 404},
		{"gated, no token", "org/gated", "", "", 64 << 20, ErrGated, 401},
		{"gated, wrong token", "org/gated", "", "hf_wrong", 64 << 20, ErrGated, 403},
		{"bad id", "../etc", "", "", 64 << 20, ErrBadID, 0},
		{"over the total", "org/tiny", "", "", 1 << 20, ErrTooLarge, 0}, // model.safetensors is 3,992,200 bytes
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.Requests())
			c := &Client{Endpoint: h.Endpoint.URL, Token: tc.token}
			_, _, err := c.FetchBytes(ctx, tc.id, tc.rev, BaseModelFiles, tc.total)
			var e *Error
			if !errors.Is(err, tc.kind) || !errors.As(err, &e) || e.Status != tc.status {
				t.Fatalf("got %v, want %v with HTTP %d", err, tc.kind, tc.status)
			}
			if tc.kind == ErrTooLarge {
				for _, r := range h.Requests()[before:] {
					if strings.HasPrefix(r.Path, "/blobs/") {
						t.Errorf("the CDN was asked for %s after the endpoint declared the size", r.Path)
					}
				}
			}
			t.Log(err)
		})
	}
	t.Run("rate limited", func(t *testing.T) {
		h.RateLimit = 3
		defer func() { h.RateLimit = 0 }()
		_, _, err := (&Client{Endpoint: h.Endpoint.URL}).FetchBytes(ctx, "org/tiny", "", BaseModelFiles, 64<<20)
		var e *Error
		if !errors.Is(err, ErrRateLimited) || !errors.As(err, &e) || e.RetryAfter != 3*time.Second {
			t.Fatalf("got %v, want rate limited, retry after 3s", err)
		}
	})
	t.Run("cut", func(t *testing.T) {
		h.CutAt = 1000
		defer func() { h.CutAt = 0 }()
		_, _, err := (&Client{Endpoint: h.Endpoint.URL}).FetchBytes(ctx, "org/tiny", "", BaseModelFiles, 64<<20)
		if !errors.Is(err, ErrTruncated) {
			t.Fatalf("got %v, want a cut download", err)
		}
	})
}
