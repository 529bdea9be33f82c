//go:build !js

// (httptest needs listening sockets, which GOOS=js does not have.)

package hubfetch

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/adapterwasm/adapterwasm/internal/golden"
)

// serveDir serves the committed tiny model directory like a hub's resolve/main endpoint.
func serveDir(t *testing.T, dir string, mutate func(name string, b []byte, w http.ResponseWriter) bool) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := filepath.Base(r.URL.Path)
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		if mutate != nil && mutate(name, b, w) {
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestFetchDirOverHTTP(t *testing.T) {
	src := golden.Path("tiny", "model")
	srv := serveDir(t, src, nil)
	out := t.TempDir()
	var last int64
	f := &Fetcher{Progress: func(name string, done, total int64) { last = done }}
	got, err := f.Dir(context.Background(), srv.URL+"/org/model/resolve/main", out, ModelFiles)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 { // sentence_bert_config.json is optional and absent
		t.Fatalf("fetched %v", got)
	}
	for _, name := range got {
		a, _ := os.ReadFile(filepath.Join(src, name))
		b, _ := os.ReadFile(filepath.Join(out, name))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from the source", name)
		}
	}
	if last == 0 {
		t.Error("no progress reported")
	}
}

func TestFetchDirFromFileURL(t *testing.T) {
	src := golden.Path("tiny", "model")
	out := t.TempDir()
	got, err := (&Fetcher{}).Dir(context.Background(), "file://"+src, out, ModelFiles)
	if err != nil || len(got) != 3 {
		t.Fatalf("got %v, %v", got, err)
	}
}

func TestTruncatedDownloadLeavesNoFile(t *testing.T) {
	src := golden.Path("tiny", "model")
	srv := serveDir(t, src, func(name string, b []byte, w http.ResponseWriter) bool {
		if name != "model.safetensors" {
			return false
		}
		// Announce the full length, send half, then drop the connection.
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b[:len(b)/2])
		if hj, ok := w.(http.Hijacker); ok {
			c, _, _ := hj.Hijack()
			c.Close()
		}
		return true
	})
	out := t.TempDir()
	_, err := (&Fetcher{}).Dir(context.Background(), srv.URL, out, ModelFiles)
	var fe *Error
	if !errors.As(err, &fe) {
		t.Fatalf("got %v, want *Error", err)
	}
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if e.Name() == "model.safetensors" || filepath.Ext(e.Name()) != ".json" {
			t.Errorf("left %s behind after a failed download", e.Name())
		}
	}
}

func TestMissingRequiredFileIsNotFound(t *testing.T) {
	srv := serveDir(t, t.TempDir(), nil)
	_, err := (&Fetcher{}).Dir(context.Background(), srv.URL, t.TempDir(), ModelFiles)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
}

func TestSizeLimit(t *testing.T) {
	srv := serveDir(t, golden.Path("tiny", "model"), nil)
	f := &Fetcher{MaxBytes: 1000}
	_, err := f.Dir(context.Background(), srv.URL, t.TempDir(), []File{{Name: "model.safetensors"}})
	if err == nil {
		t.Fatal("want a size error")
	}
}
