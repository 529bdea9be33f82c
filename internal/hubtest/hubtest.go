// Package hubtest is a local stand-in for the Hugging Face hub and the AdapterHub index, on
// 127.0.0.1, for tests that must not reach the internet. It serves real files (the tests give it
// the real MiniLM and the demo adapters) with the shapes the real services use, each taken from
// the client libraries' source:
//
//   - Endpoint, `/{id}/resolve/{revision}/{file}` (huggingface_hub file_download.py hf_hub_url):
//     a small file answers 200 with its bytes, `ETag` and `X-Repo-Commit`; an LFS file (.bin,
//     .safetensors) answers 302 to the CDN host with `X-Repo-Commit`, `X-Linked-Etag` (the
//     sha256), `X-Linked-Size` and `Location` (read by get_hf_file_metadata, constants.py
//     HUGGINGFACE_HEADER_X_*). Errors carry `X-Error-Code` (RepoNotFound, RevisionNotFound,
//     EntryNotFound, GatedRepo) and `X-Error-Message`, which hf_raise_for_status
//     (utils/_http.py) reads; a missing repo answers 401 to a client without a token as the hub
//     does (the comment there cites the hub's gist on it).
//   - Endpoint, `/api/models?filter=F&full=True&config=True` (hf_api.py list_models): a JSON
//     list of ModelInfo dicts {id, modelId, sha, pipeline_tag, library_name, tags, siblings:
//     [{rfilename}], config}, paged with a `Link: <next>; rel="next"` header
//     (utils/_pagination.py).
//   - CDN, `/blobs/{sha256}`: the bytes with Content-Length; no auth expected.
//   - AdapterHub, `{base}/all.json` (adapter-transformers 3.x utils.py ADAPTER_HUB_ALL_FILE,
//     read by list_adapters as `[AdapterInfo(**info) for info in all.json]`): a JSON list of
//     {source, adapter_id, model_name, task, subtask, username, adapter_config, sha1_checksum}.
//     And the files of AHFiles (path under dist/v2/ → bytes), e.g. `index/{model_name}.json`, the
//     per-model index pull_from_hub reads (adapters 1.x utils.py ADAPTER_HUB_INDEX_FILE; testdata/hub/ah
//     holds some in the layout the archived Hub's scripts/generate.py writes), with Content-Length
//     unless AHChunked.
package hubtest

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Request is one request a server saw.
type Request struct {
	Host, Path, Auth string
}

// Hub is the mock: three servers and their state. Fields may be changed between requests.
type Hub struct {
	Endpoint, CDN, AH *httptest.Server

	mu        sync.Mutex
	repos     map[string]*repo
	moved     map[string]string // old id → new id (a renamed repository)
	blobs     map[string][]byte // sha256 hex → bytes
	Token     string            // the token that opens gated repos
	RateLimit int               // > 0: every endpoint request answers 429 with this Retry-After
	CutAt     int               // > 0: the CDN sends only this many bytes of a blob, then closes
	PageSize  int               // /api/models page size (default 2)
	AHList    []map[string]any  // all.json
	AHFiles   map[string][]byte // other files under AHPrefix, e.g. "index/bert-base-uncased.json"
	AHChunked bool              // send AHFiles without Content-Length
	Log       []Request
}

type repo struct {
	refs    map[string]string            // branch → commit
	commits map[string]map[string][]byte // commit → files
	gated   bool
	info    map[string]any // extra ModelInfo fields for /api/models (config, pipeline_tag, tags)
}

// New starts the mock; it stops when the test ends.
func New(t testing.TB) *Hub {
	h := &Hub{repos: map[string]*repo{}, moved: map[string]string{}, blobs: map[string][]byte{}, PageSize: 2}
	h.Endpoint = httptest.NewServer(http.HandlerFunc(h.serveEndpoint))
	h.CDN = httptest.NewServer(http.HandlerFunc(h.serveCDN))
	h.AH = httptest.NewServer(http.HandlerFunc(h.serveAH))
	t.Cleanup(func() { h.Endpoint.Close(); h.CDN.Close(); h.AH.Close() })
	return h
}

// AddDir publishes every regular file in dir as id's branch "main" (a new commit) and returns
// the commit. Calling it again for the same id moves main; the old commit stays resolvable.
func (h *Hub) AddDir(t testing.TB, id, dir string) string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range ents {
		if e.Type().IsRegular() {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			files[e.Name()] = b
		}
	}
	return h.AddFiles(id, files)
}

// AddFiles publishes files as id's new "main" commit and returns the commit.
func (h *Hub) AddFiles(id string, files map[string][]byte) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	sum := sha1.New()
	fmt.Fprintf(sum, "%s\n", id)
	r := h.repos[id]
	if r == nil {
		r = &repo{refs: map[string]string{}, commits: map[string]map[string][]byte{}, info: map[string]any{}}
		h.repos[id] = r
	}
	fmt.Fprintf(sum, "%d\n", len(r.commits))
	for _, n := range names {
		fmt.Fprintf(sum, "%s %d\n", n, len(files[n]))
		sum.Write(files[n])
		d := sha256.Sum256(files[n])
		h.blobs[hex.EncodeToString(d[:])] = files[n]
	}
	commit := hex.EncodeToString(sum.Sum(nil))
	r.commits[commit] = files
	r.refs["main"] = commit
	return commit
}

// Rename moves id to newID; requests for id then answer 307 with a relative Location on the
// endpoint, as the hub does for a renamed repository (huggingface_hub follows relative
// redirects itself in _request_wrapper, file_download.py).
func (h *Hub) Rename(id, newID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.repos[newID] = h.repos[id]
	delete(h.repos, id)
	h.moved[id] = newID
}

// SetGated makes id answer only requests with the hub's Token.
func (h *Hub) SetGated(id string, gated bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.repos[id].gated = gated
}

// SetInfo sets ModelInfo fields /api/models returns for id (e.g. "config", "tags").
func (h *Hub) SetInfo(id string, info map[string]any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.repos[id].info = info
}

// Requests returns the requests seen so far.
func (h *Hub) Requests() []Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Request(nil), h.Log...)
}

func (h *Hub) log(r *http.Request) {
	h.mu.Lock()
	h.Log = append(h.Log, Request{Host: r.Host, Path: r.URL.Path, Auth: r.Header.Get("Authorization")})
	h.mu.Unlock()
}

func hubError(w http.ResponseWriter, status int, code, msg string) {
	if code != "" {
		w.Header().Set("X-Error-Code", code)
	}
	w.Header().Set("X-Error-Message", msg)
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":%q}`, msg)
}

func isLFS(name string) bool {
	return strings.HasSuffix(name, ".bin") || strings.HasSuffix(name, ".safetensors")
}

func (h *Hub) serveEndpoint(w http.ResponseWriter, r *http.Request) {
	h.log(r)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.RateLimit > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(h.RateLimit))
		hubError(w, http.StatusTooManyRequests, "", "You have been rate-limited")
		return
	}
	if r.URL.Path == "/api/models" {
		h.serveModels(w, r)
		return
	}
	// /{owner}/{name}/resolve/{revision}/{file} or /{name}/resolve/{revision}/{file}
	parts := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	i := -1
	for k, p := range parts {
		if p == "resolve" {
			i = k
			break
		}
	}
	if i < 1 || i > 2 || len(parts) != i+3 {
		hubError(w, http.StatusNotFound, "", "Not Found")
		return
	}
	id := strings.Join(parts[:i], "/")
	rev, _ := url.PathUnescape(parts[i+1])
	name, _ := url.PathUnescape(parts[i+2])
	if to, ok := h.moved[id]; ok {
		w.Header().Set("Location", "/"+to+"/resolve/"+parts[i+1]+"/"+parts[i+2])
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	}
	rp := h.repos[id]
	authorized := h.Token != "" && r.Header.Get("Authorization") == "Bearer "+h.Token
	if rp == nil {
		status := http.StatusUnauthorized
		if authorized {
			status = http.StatusNotFound
		}
		hubError(w, status, "RepoNotFound", "Repository not found")
		return
	}
	if rp.gated && !authorized {
		status := http.StatusUnauthorized
		if r.Header.Get("Authorization") != "" {
			status = http.StatusForbidden
		}
		hubError(w, status, "GatedRepo", "Access to model "+id+" is restricted.")
		return
	}
	commit := rev
	if c, ok := rp.refs[rev]; ok {
		commit = c
	}
	files, ok := rp.commits[commit]
	if !ok {
		hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return
	}
	b, ok := files[name]
	if !ok {
		hubError(w, http.StatusNotFound, "EntryNotFound", "Entry not found")
		return
	}
	w.Header().Set("X-Repo-Commit", commit)
	if isLFS(name) {
		d := sha256.Sum256(b)
		sum := hex.EncodeToString(d[:])
		w.Header().Set("X-Linked-Etag", `"`+sum+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(b)))
		w.Header().Set("ETag", `W/"`+sum[:16]+`"`)
		w.Header().Set("Location", h.CDN.URL+"/blobs/"+sum)
		w.WriteHeader(http.StatusFound)
		return
	}
	d := sha1.Sum(b)
	w.Header().Set("ETag", `"`+hex.EncodeToString(d[:])+`"`)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}

func (h *Hub) serveCDN(w http.ResponseWriter, r *http.Request) {
	h.log(r)
	h.mu.Lock()
	b, ok := h.blobs[strings.TrimPrefix(r.URL.Path, "/blobs/")]
	cut := h.CutAt
	h.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	if cut > 0 && cut < len(b) {
		w.Write(b[:cut]) // then the handler returns: the server closes a short body
		return
	}
	w.Write(b)
}

func (h *Hub) serveModels(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	filter := q.Get("filter")
	ids := make([]string, 0, len(h.repos))
	for id, rp := range h.repos {
		tags, _ := rp.info["tags"].([]string)
		for _, tg := range tags {
			if tg == filter {
				ids = append(ids, id)
				break
			}
		}
	}
	sort.Strings(ids)
	start, _ := strconv.Atoi(q.Get("cursor"))
	end := min(start+h.PageSize, len(ids))
	if start > len(ids) {
		start = end
	}
	var out []map[string]any
	for _, id := range ids[start:end] {
		rp := h.repos[id]
		m := map[string]any{"_id": "x", "id": id, "modelId": id, "sha": rp.refs["main"], "private": false}
		if q.Get("full") == "True" {
			var sib []map[string]string
			for n := range rp.commits[rp.refs["main"]] {
				sib = append(sib, map[string]string{"rfilename": n})
			}
			m["siblings"] = sib
		}
		for k, v := range rp.info {
			if k == "config" && q.Get("config") != "True" {
				continue
			}
			m[k] = v
		}
		out = append(out, m)
	}
	if end < len(ids) {
		next := *r.URL
		nq := next.Query()
		nq.Set("cursor", strconv.Itoa(end))
		next.RawQuery = nq.Encode()
		w.Header().Set("Link", "<"+h.Endpoint.URL+next.RequestURI()+`>; rel="next"`)
	}
	w.Header().Set("Content-Type", "application/json")
	if out == nil {
		out = []map[string]any{}
	}
	json.NewEncoder(w).Encode(out)
}

// AHPrefix is where the AdapterHub mock serves dist/v2 (as raw.githubusercontent.com does).
const AHPrefix = "/Adapter-Hub/Hub/master/dist/v2/"

func (h *Hub) serveAH(w http.ResponseWriter, r *http.Request) {
	h.log(r)
	h.mu.Lock()
	defer h.mu.Unlock()
	if b, ok := h.AHFiles[strings.TrimPrefix(r.URL.Path, AHPrefix)]; ok && strings.HasPrefix(r.URL.Path, AHPrefix) {
		w.Header().Set("Content-Type", "application/json")
		if !h.AHChunked {
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		}
		w.Write(b)
		return
	}
	if r.URL.Path != AHPrefix+"all.json" {
		http.NotFound(w, r)
		return
	}
	list := h.AHList
	if list == nil {
		list = []map[string]any{}
	}
	json.NewEncoder(w).Encode(list)
}
