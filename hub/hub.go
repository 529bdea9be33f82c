// Package hub resolves Hugging Face hub ids ("owner/name" at a revision) to files on disk: it
// downloads `{endpoint}/{id}/resolve/{revision}/{file}` into a cache keyed by id and commit, pins
// what it fetched by the hub's X-Repo-Commit, and loads a fetched id again without the network.
// It knows nothing of models or adapters: callers say which files to fetch (see BaseModelFiles,
// AdapterFiles).
//
// The request and cache protocol mirrors huggingface_hub (file_download.py: hf_hub_url,
// get_hf_file_metadata, the models--owner--name/{refs,snapshots} cache layout;
// utils/_http.py: hf_raise_for_status for the error kinds).
package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// DefaultEndpoint is the public hub; HF_ENDPOINT overrides it, as in the Python libraries.
const DefaultEndpoint = "https://huggingface.co"

// DefaultMaxBytes bounds one file (declared or received): 2 GiB.
const DefaultMaxBytes = 2 << 30

// maxRedirects bounds the redirects followed per file (the hub uses one, to its CDN).
const maxRedirects = 5

// File is one file to fetch, or the first of several alternatives the repository has
// (model.safetensors else pytorch_model.bin).
type File struct {
	Names    []string
	Optional bool // none of Names existing is not an error
}

// BaseModelFiles are the files of a BERT model repository that runtime/pretrained reads.
// sentence_bert_config.json carries MiniLM's max length (256; its tokenizer.json says 128).
var BaseModelFiles = []File{
	{Names: []string{"config.json"}},
	{Names: []string{"tokenizer.json"}},
	{Names: []string{"model.safetensors", "pytorch_model.bin"}},
	{Names: []string{"sentence_bert_config.json"}, Optional: true},
}

// AdapterFiles are the files of an AdapterHub adapter repository (adapters/utils.py names):
// the config, the weights (safetensors else the pickle), and the prediction head if saved.
var AdapterFiles = []File{
	{Names: []string{"adapter_config.json"}},
	{Names: []string{"adapter.safetensors", "pytorch_adapter.bin"}},
	{Names: []string{"head_config.json"}, Optional: true},
	{Names: []string{"model_head.safetensors", "pytorch_model_head.bin"}, Optional: true},
}

// Progress is called as bytes arrive: done so far and total (-1 if unknown) for file name.
type Progress func(name string, done, total int64)

// Client fetches from one endpoint into one cache directory.
type Client struct {
	Endpoint string       // e.g. https://huggingface.co; "" = DefaultEndpoint
	Token    string       // sent as "Authorization: Bearer" to the endpoint's host only
	CacheDir string       // files go under CacheDir/hub/models--owner--name/
	HTTP     *http.Client // nil = a client with a 30 s connect timeout
	MaxBytes int64        // per file; 0 = DefaultMaxBytes
	Offline  bool         // never touch the network; load from the cache
	Progress Progress
}

// FromEnv returns a client configured as the Python libraries are: HF_ENDPOINT, HF_TOKEN,
// HF_HUB_OFFLINE; the cache is $ADAPTERWASM_CACHE (else the user cache dir)/adapterwasm.
func FromEnv() *Client {
	c := &Client{Endpoint: os.Getenv("HF_ENDPOINT"), Token: os.Getenv("HF_TOKEN")}
	switch strings.ToLower(os.Getenv("HF_HUB_OFFLINE")) {
	case "1", "true", "yes", "on":
		c.Offline = true
	}
	if d := os.Getenv("ADAPTERWASM_CACHE"); d != "" {
		c.CacheDir = d
	} else if d, err := os.UserCacheDir(); err == nil {
		c.CacheDir = filepath.Join(d, "adapterwasm")
	}
	return c
}

// Snapshot is a fetched repository: Dir holds the files, Commit pins them.
type Snapshot struct {
	ID        string            `json:"id"`
	Revision  string            `json:"revision"`
	Commit    string            `json:"commit"`
	Endpoint  string            `json:"endpoint"`
	Dir       string            `json:"-"`
	Files     map[string]Cached `json:"files"`
	Absent    []string          `json:"absent,omitempty"` // optional files the repo lacks
	FromCache bool              `json:"-"`
}

// Cached is one file of a snapshot.
type Cached struct {
	Size int64  `json:"size"`
	ETag string `json:"etag,omitempty"`
}

var (
	idPart   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$`)
	revision = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$`)
	commitRe = regexp.MustCompile(`^[0-9a-f]{40}$`)
)

// IsID reports whether s has the form of a hub model id: "name" or "owner/name", each part
// letters, digits, '.', '_', '-' (at most 96), not starting with a punctuation mark, no "..".
func IsID(s string) bool {
	parts := strings.Split(s, "/")
	if len(parts) > 2 || strings.Contains(s, "..") {
		return false
	}
	for _, p := range parts {
		if !idPart.MatchString(p) {
			return false
		}
	}
	return true
}

func validRevision(r string) bool {
	return revision.MatchString(r) && !strings.Contains(r, "..") && !strings.Contains(r, "//")
}

func (c *Client) endpoint() string {
	if c.Endpoint == "" {
		return DefaultEndpoint
	}
	return strings.TrimRight(c.Endpoint, "/")
}

// ResolveURL is `{endpoint}/{id}/resolve/{revision}/{file}`, the revision path-escaped
// (huggingface_hub's hf_hub_url quotes it with safe="").
func (c *Client) ResolveURL(id, rev, file string) string {
	return c.endpoint() + "/" + id + "/resolve/" + url.PathEscape(rev) + "/" + file
}

// repoDir is the cache directory of an id: CacheDir/hub/models--owner--name.
func (c *Client) repoDir(id string) string {
	return filepath.Join(c.CacheDir, "hub", "models--"+strings.ReplaceAll(id, "/", "--"))
}

// Fetch downloads files of id at rev ("" = main) into the cache and returns the snapshot. The
// first file resolves the revision to a commit (X-Repo-Commit); every later file is requested
// at that commit, so a snapshot never mixes two commits. Files already cached for the commit
// are not downloaded again. Offline, or when the endpoint cannot be reached, the snapshot the
// cache last recorded for id@rev is returned (FromCache) if it has every file asked for.
func (c *Client) Fetch(ctx context.Context, id, rev string, files []File) (*Snapshot, error) {
	if rev == "" {
		rev = "main"
	}
	if !IsID(id) {
		return nil, &Error{Repo: id, Kind: ErrBadID, Detail: `want "name" or "owner/name"`}
	}
	if !validRevision(rev) {
		return nil, &Error{Repo: id, Revision: rev, Kind: ErrBadID, Detail: "bad revision"}
	}
	if c.CacheDir == "" {
		return nil, errors.New("hub: no cache directory (set ADAPTERWASM_CACHE)")
	}
	if c.Offline {
		return c.cached(id, rev, files, nil)
	}
	// A full commit already in the cache needs no request.
	if commitRe.MatchString(rev) {
		if s, err := c.cached(id, rev, files, nil); err == nil {
			return s, nil
		}
	}
	s, err := c.download(ctx, id, rev, files)
	if errors.Is(err, ErrNetwork) {
		return c.cached(id, rev, files, err)
	}
	return s, err
}

// cached returns the snapshot recorded for id@rev if it holds every file asked for. cause is the
// network error that sent us here, reported if the cache cannot help.
func (c *Client) cached(id, rev string, files []File, cause error) (*Snapshot, error) {
	notCached := func(detail string) error {
		if cause != nil {
			return cause
		}
		return &Error{Repo: id, Revision: rev, Kind: ErrNotCached, Detail: detail}
	}
	commit := rev
	if !commitRe.MatchString(rev) {
		b, err := os.ReadFile(filepath.Join(c.repoDir(id), "refs", url.PathEscape(rev)))
		if err != nil {
			return nil, notCached("")
		}
		commit = strings.TrimSpace(string(b))
		if !commitRe.MatchString(commit) {
			return nil, notCached("bad ref file")
		}
	}
	b, err := os.ReadFile(filepath.Join(c.repoDir(id), "snapshots", commit+".json"))
	if err != nil {
		return nil, notCached("")
	}
	var s Snapshot
	if err := json.Unmarshal(b, &s); err != nil || s.Commit != commit {
		return nil, notCached("bad snapshot record")
	}
	s.Dir = filepath.Join(c.repoDir(id), "snapshots", commit)
	s.Revision = rev
	s.FromCache = true
	absent := map[string]bool{}
	for _, a := range s.Absent {
		absent[a] = true
	}
	for _, f := range files {
		found := false
		for _, name := range f.Names {
			want, ok := s.Files[name]
			if !ok {
				continue
			}
			st, err := os.Stat(filepath.Join(s.Dir, name))
			if err != nil || st.Size() != want.Size {
				return nil, notCached(name + " missing or of the wrong size")
			}
			found = true
			break
		}
		if !found && !(f.Optional && absent[f.Names[0]]) {
			return nil, notCached(f.Names[0] + " never fetched")
		}
	}
	return &s, nil
}

func (c *Client) download(ctx context.Context, id, rev string, files []File) (*Snapshot, error) {
	s := &Snapshot{ID: id, Revision: rev, Endpoint: c.endpoint(), Files: map[string]Cached{}}
	at := rev // the revision requested: rev for the first file, then the commit
	for _, f := range files {
		var got bool
		for _, name := range f.Names {
			meta, err := c.file(ctx, id, rev, at, name, s)
			if errors.Is(err, ErrNotFound) && isEntryMissing(err) {
				continue
			}
			if err != nil {
				return nil, err
			}
			s.Files[name] = meta
			at = s.Commit
			got = true
			break
		}
		if !got {
			if f.Optional {
				s.Absent = append(s.Absent, f.Names[0])
				continue
			}
			return nil, &Error{Repo: id, Revision: rev, File: strings.Join(f.Names, " or "), Status: http.StatusNotFound, Kind: ErrNotFound, Detail: entryNotFoundDetail}
		}
	}
	// Record the snapshot, then point the ref at it: a ref only ever names a complete snapshot.
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	dir := c.repoDir(id)
	if err := writeAtomic(filepath.Join(dir, "snapshots", s.Commit+".json"), b); err != nil {
		return nil, err
	}
	if rev != s.Commit {
		if err := writeAtomic(filepath.Join(dir, "refs", url.PathEscape(rev)), []byte(s.Commit)); err != nil {
			return nil, err
		}
	}
	s.Dir = filepath.Join(dir, "snapshots", s.Commit)
	return s, nil
}

// isEntryMissing reports a 404 for one file of a repository that exists (X-Error-Code
// EntryNotFound, or a plain 404 once the commit is known), so an alternative name may be tried.
func isEntryMissing(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Detail == entryNotFoundDetail
}

const entryNotFoundDetail = "no such file in the repository"

// file fetches one file into the snapshot directory of s (setting s.Commit from the first
// answer) unless it is already there at that commit.
func (c *Client) file(ctx context.Context, id, rev, at, name string, s *Snapshot) (Cached, error) {
	fail := func(kind error, status int, detail string) error {
		return &Error{Repo: id, Revision: rev, File: name, Status: status, Kind: kind, Detail: detail}
	}
	limit := c.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	// At the endpoint's redirect, before the CDN is asked: refuse a declared size over the
	// limit, and skip a file this commit already has in the cache (same name, same size).
	check := func(meta answer) error {
		if meta.size > limit {
			return &tooLarge{meta.size}
		}
		if commitRe.MatchString(meta.commit) && meta.size >= 0 && (s.Commit == "" || s.Commit == meta.commit) {
			st, err := os.Stat(filepath.Join(c.repoDir(id), "snapshots", meta.commit, name))
			if err == nil && st.Mode().IsRegular() && st.Size() == meta.size {
				return errHave
			}
		}
		return nil
	}
	pin := func(meta answer) error {
		switch {
		case meta.commit == "":
			return fail(ErrProtocol, 0, "no X-Repo-Commit header: is the endpoint a hub?")
		case !commitRe.MatchString(meta.commit):
			return fail(ErrProtocol, 0, "X-Repo-Commit is not a commit hash")
		case s.Commit == "":
			s.Commit = meta.commit
		case meta.commit != s.Commit:
			return fail(ErrProtocol, 0, "X-Repo-Commit changed within one snapshot")
		}
		return nil
	}
	resp, meta, err := c.get(ctx, c.ResolveURL(id, at, name), check)
	var big *tooLarge
	if errors.As(err, &big) {
		return Cached{}, fail(ErrTooLarge, 0, fmt.Sprintf("%d bytes declared, limit %d", big.size, limit))
	}
	if errors.Is(err, errHave) {
		return Cached{Size: meta.size, ETag: meta.etag}, pin(meta)
	}
	if err != nil {
		return Cached{}, fail(ErrNetwork, 0, networkDetail(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Cached{}, c.statusError(resp, meta, id, rev, name, s.Commit != "")
	}
	if err := pin(meta); err != nil {
		return Cached{}, err
	}
	total := resp.ContentLength
	if meta.size >= 0 {
		if total >= 0 && total != meta.size {
			return Cached{}, fail(ErrProtocol, 0, fmt.Sprintf("X-Linked-Size %d but Content-Length %d", meta.size, total))
		}
		total = meta.size
	}
	if total > limit {
		return Cached{}, fail(ErrTooLarge, 0, fmt.Sprintf("%d bytes declared, limit %d", total, limit))
	}
	dst := filepath.Join(c.repoDir(id), "snapshots", s.Commit, name)
	if st, err := os.Stat(dst); err == nil && total >= 0 && st.Size() == total {
		return Cached{Size: total, ETag: meta.etag}, nil // same commit, same file: immutable
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return Cached{}, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+name+".part-*")
	if err != nil {
		return Cached{}, err
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name()) // after a rename this finds nothing
	}()
	pw := &progressWriter{w: tmp, name: name, total: total, fn: c.Progress}
	n, err := io.Copy(pw, io.LimitReader(resp.Body, limit+1))
	if errors.Is(err, io.ErrUnexpectedEOF) && total >= 0 {
		return Cached{}, fail(ErrTruncated, 0, fmt.Sprintf("got %d of %d bytes", n, total))
	}
	if err != nil {
		return Cached{}, fail(ErrNetwork, 0, fmt.Sprintf("after %d bytes: %s", n, networkDetail(err)))
	}
	if n > limit {
		return Cached{}, fail(ErrTooLarge, 0, fmt.Sprintf("more than %d bytes", limit))
	}
	if total >= 0 && n != total {
		return Cached{}, fail(ErrTruncated, 0, fmt.Sprintf("got %d of %d bytes", n, total))
	}
	if err := tmp.Close(); err != nil {
		return Cached{}, err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return Cached{}, err
	}
	return Cached{Size: n, ETag: meta.etag}, nil
}

// answer is what the endpoint said about a file before any redirect to another host.
type answer struct {
	commit string
	etag   string
	size   int64 // X-Linked-Size, -1 if absent
}

// get requests rawURL and follows up to maxRedirects redirects itself, so that (1) the
// Authorization header goes only to the endpoint's host (scheme, host and port equal), never to
// the CDN it redirects to — Go's client would forward it to a subdomain such as
// cdn-lfs.huggingface.co — (2) X-Repo-Commit, X-Linked-Etag/ETag and X-Linked-Size are
// read from the endpoint's own answer, as huggingface_hub's get_hf_file_metadata does, and
// (3) check, if not nil, sees the endpoint's answer before any redirect is followed; an error
// from it is returned as is (a declared size over the limit, a file already cached).
func (c *Client) get(ctx context.Context, rawURL string, check func(answer) error) (*http.Response, answer, error) {
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	noFollow := *hc
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	home, err := url.Parse(c.endpoint())
	if err != nil {
		return nil, answer{}, err
	}
	meta := answer{size: -1}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, meta, err
	}
	for hop := 0; ; hop++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, meta, err
		}
		onEndpoint := u.Scheme == home.Scheme && u.Host == home.Host
		if c.Token != "" && onEndpoint {
			req.Header.Set("Authorization", "Bearer "+c.Token)
		}
		req.Header.Set("User-Agent", "adapterwasm")
		resp, err := noFollow.Do(req)
		if err != nil {
			return nil, meta, err
		}
		if onEndpoint {
			if v := resp.Header.Get("X-Repo-Commit"); v != "" {
				meta.commit = v
			}
			if v := resp.Header.Get("X-Linked-Etag"); v != "" {
				meta.etag = v
			} else if v := resp.Header.Get("ETag"); v != "" {
				meta.etag = v
			}
			if v := resp.Header.Get("X-Linked-Size"); v != "" {
				if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
					meta.size = n
				}
			}
		}
		switch resp.StatusCode {
		case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		default:
			return resp, meta, nil
		}
		loc := resp.Header.Get("Location")
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if check != nil {
			if err := check(meta); err != nil {
				return nil, meta, err
			}
		}
		if hop >= maxRedirects {
			return nil, meta, fmt.Errorf("more than %d redirects", maxRedirects)
		}
		next, err := u.Parse(loc)
		if err != nil || (next.Scheme != "http" && next.Scheme != "https") {
			return nil, meta, fmt.Errorf("bad redirect")
		}
		u = next
	}
}

// errHave: the file is already in the cache at the commit the endpoint named.
var errHave = errors.New("already cached")

type tooLarge struct{ size int64 }

func (e *tooLarge) Error() string { return "too large" }

var defaultHTTP = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	DialContext:           (&net.Dialer{Timeout: 30 * time.Second}).DialContext,
	TLSHandshakeTimeout:   30 * time.Second,
	ResponseHeaderTimeout: 60 * time.Second,
}}

// statusError turns a non-200 answer into a typed error, as hf_raise_for_status does:
// X-Error-Code names the case when present; a 401 without a token means "not found" (the hub
// answers missing and private repos alike); with a token it means the token lacks access.
func (c *Client) statusError(resp *http.Response, meta answer, id, rev, name string, repoKnown bool) error {
	e := &Error{Repo: id, Revision: rev, File: name, Status: resp.StatusCode}
	code := resp.Header.Get("X-Error-Code")
	switch {
	case code == "EntryNotFound" || (resp.StatusCode == http.StatusNotFound && repoKnown && code == ""):
		e.Kind, e.Detail = ErrNotFound, entryNotFoundDetail
	case code == "RevisionNotFound":
		e.Kind, e.Detail = ErrNotFound, "no such revision"
	case code == "RepoNotFound":
		e.Kind, e.Detail = ErrNotFound, "no such repository (or private: set HF_TOKEN)"
	case code == "GatedRepo":
		e.Kind = ErrGated
	case resp.StatusCode == http.StatusNotFound:
		e.Kind = ErrNotFound
	case resp.StatusCode == http.StatusUnauthorized && c.Token == "":
		e.Kind, e.Detail = ErrNotFound, "no such repository (or private: set HF_TOKEN)"
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		e.Kind = ErrGated
	case resp.StatusCode == http.StatusTooManyRequests:
		e.Kind = ErrRateLimited
		e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"))
	default:
		e.Kind = ErrProtocol
	}
	if msg := resp.Header.Get("X-Error-Message"); msg != "" && e.Detail == "" {
		e.Detail = clip(printable(msg))
	}
	return e
}

// printable drops control characters from a server's words before they reach a terminal.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
}

// retryAfter reads Retry-After as seconds or an HTTP date; 0 if absent or unreadable.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d.Round(time.Second)
		}
	}
	return 0
}

// networkDetail is a network error's text without the URL (which may be long).
func networkDetail(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return clip(err.Error())
}

func writeAtomic(dst string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".part-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
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
