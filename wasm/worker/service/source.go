package service

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Source is where the Worker's data lives: static assets, an R2 bucket, or (natively) a directory.
// Get returns the bytes of the object at p, a clean "/"-separated path without a leading slash;
// a missing object is an error wrapping fs.ErrNotExist.
type Source interface {
	Get(ctx context.Context, p string) ([]byte, error)
}

// Cache is a second-level store for adapter files in front of their Source (the Workers Cache
// API on the edge). Keys are content addresses (the file's sha256), so an entry never goes
// stale. Errors are not fatal: a failed Get is a miss, a failed Put is ignored.
type Cache interface {
	Get(ctx context.Context, key string) ([]byte, bool)
	Put(ctx context.Context, key string, b []byte)
}

// DirSource serves files under a directory: the native server and the tests use it in place of
// static assets.
type DirSource string

// Get reads the file at p under the directory.
func (d DirSource) Get(_ context.Context, p string) ([]byte, error) {
	if !fs.ValidPath(p) {
		return nil, fmt.Errorf("%q: %w", p, fs.ErrNotExist)
	}
	return os.ReadFile(filepath.Join(string(d), filepath.FromSlash(p)))
}

// StatusError is a Source's answer other than the object: the HTTP status of an assets fetch, say.
type StatusError struct {
	Path   string
	Status int
}

func (e *StatusError) Error() string { return fmt.Sprintf("%s: HTTP %d", e.Path, e.Status) }

// Is makes a 404 match fs.ErrNotExist.
func (e *StatusError) Is(target error) bool { return e.Status == 404 && target == fs.ErrNotExist }

// joinPath resolves rel against the directory of the object at base (both "/"-separated), as a
// URL is resolved: index.json's entry paths are relative to index.json.
func joinPath(base, rel string) (string, error) {
	p := path.Clean(path.Join(path.Dir(base), rel))
	p = strings.TrimPrefix(p, "/")
	if !fs.ValidPath(p) || p == "." {
		return "", errors.New("path " + rel + " leaves the source")
	}
	return p, nil
}
