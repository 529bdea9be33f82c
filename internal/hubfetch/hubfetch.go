// Package hubfetch downloads a model directory in Hugging Face layout from a base URL such as
// https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/main (or a file:// URL),
// for machines that can reach a hub. Each file is written to a temporary name and renamed only
// when complete and of the announced length, so a cut download never leaves a file that looks whole.
package hubfetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// File is one file of a model directory.
type File struct {
	Name     string
	Optional bool // a 404 is not an error
}

// ModelFiles are the files of a BERT model directory that adapterwasm reads.
var ModelFiles = []File{
	{Name: "config.json"},
	{Name: "tokenizer.json"},
	{Name: "model.safetensors"},
	{Name: "sentence_bert_config.json", Optional: true},
}

// Progress is called as bytes arrive: done so far and total (-1 if unknown) for file name.
type Progress func(name string, done, total int64)

// Error reports a failed download of one file.
type Error struct {
	URL string
	Err error
}

func (e *Error) Error() string { return "fetch " + e.URL + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// ErrNotFound is wrapped when the server answers 404 (or a file:// path does not exist).
var ErrNotFound = errors.New("not found")

// Fetcher downloads files. The zero value uses http.DefaultClient.
type Fetcher struct {
	Client   *http.Client
	Progress Progress
	MaxBytes int64 // per file; 0 = 2 GiB
}

// Dir downloads files from base into dir (created if missing) and returns the names written.
func (f *Fetcher) Dir(ctx context.Context, base, dir string, files []File) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var got []string
	for _, file := range files {
		if strings.Contains(file.Name, "..") || strings.ContainsAny(file.Name, `/\`) {
			return got, fmt.Errorf("fetch: bad file name %q", file.Name)
		}
		err := f.File(ctx, join(base, file.Name), filepath.Join(dir, file.Name), file.Name)
		if errors.Is(err, ErrNotFound) && file.Optional {
			continue
		}
		if err != nil {
			return got, err
		}
		got = append(got, file.Name)
	}
	return got, nil
}

func join(base, name string) string {
	u, err := url.Parse(base)
	if err != nil {
		return strings.TrimSuffix(base, "/") + "/" + name
	}
	u.Path = path.Join(u.Path, name)
	return u.String()
}

// File downloads rawURL to dst atomically (dst appears only once complete).
func (f *Fetcher) File(ctx context.Context, rawURL, dst, label string) error {
	limit := f.MaxBytes
	if limit <= 0 {
		limit = 2 << 30
	}
	body, total, err := f.open(ctx, rawURL)
	if err != nil {
		return &Error{URL: rawURL, Err: err}
	}
	defer body.Close()
	if total > limit {
		return &Error{URL: rawURL, Err: fmt.Errorf("size %d exceeds the limit of %d bytes", total, limit)}
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".part-*")
	if err != nil {
		return err
	}
	keep := false
	defer func() {
		if !keep {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	pw := &progressWriter{w: tmp, name: label, total: total, fn: f.Progress}
	n, err := io.Copy(pw, io.LimitReader(body, limit+1))
	if err != nil {
		return &Error{URL: rawURL, Err: err}
	}
	if n > limit {
		return &Error{URL: rawURL, Err: fmt.Errorf("more than %d bytes", limit)}
	}
	if total >= 0 && n != total {
		return &Error{URL: rawURL, Err: fmt.Errorf("truncated: got %d of %d bytes", n, total)}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return err
	}
	keep = true
	return nil
}

func (f *Fetcher) open(ctx context.Context, rawURL string) (io.ReadCloser, int64, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, 0, err
	}
	switch u.Scheme {
	case "file":
		fh, err := os.Open(u.Path)
		if errors.Is(err, os.ErrNotExist) {
			return nil, 0, ErrNotFound
		}
		if err != nil {
			return nil, 0, err
		}
		st, err := fh.Stat()
		if err != nil {
			fh.Close()
			return nil, 0, err
		}
		return fh, st.Size(), nil
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
		if err != nil {
			return nil, 0, err
		}
		c := f.Client
		if c == nil {
			c = http.DefaultClient
		}
		resp, err := c.Do(req)
		if err != nil {
			return nil, 0, err
		}
		if resp.StatusCode == http.StatusNotFound {
			resp.Body.Close()
			return nil, 0, ErrNotFound
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, 0, fmt.Errorf("HTTP %s", resp.Status)
		}
		return resp.Body, resp.ContentLength, nil
	}
	return nil, 0, fmt.Errorf("unsupported URL scheme %q (http, https, file)", u.Scheme)
}

type progressWriter struct {
	w           io.Writer
	name        string
	done, total int64
	fn          Progress
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.done += int64(n)
	if p.fn != nil {
		p.fn(p.name, p.done, p.total)
	}
	return n, err
}
