// Package service is the adapterwasm Worker's HTTP API in plain Go: routing, JSON requests and
// errors, the base model loaded once, and adapters fetched on demand into an LRU. It knows
// nothing of syscall/js: the Workers entry (wasm/worker, GOOS=js) gives it Sources backed by
// static assets or R2 and a Cache backed by the Workers Cache API; natively it serves a
// directory, which is how it is tested.
//
//	GET  /healthz       the base model is loaded: {"ok", "model", "adapters", "memory", …}
//	GET  /v1/adapters   the adapter index (index.json from `adapterwasm index`), verbatim
//	POST /v1/classify   {"text": s | "texts": [s…], "adapters": name | setup, "head"?: name}
//	                    → {"model", "adapters", "results": [one per text, as `adapterwasm classify` prints]}
package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"reflect"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/adapterwasm/adapterwasm/adapters"
	"github.com/adapterwasm/adapterwasm/runtime/kernels"
	"github.com/adapterwasm/adapterwasm/runtime/modelfile"
	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
	"github.com/adapterwasm/adapterwasm/wasm/engine"
)

// Limits of one request. A text within MaxTextBytes but longer than the model's max length is
// truncated by the tokenizer, as the CLI does; anything over a limit is refused with 413.
const (
	DefaultMaxBodyBytes  = 1 << 20  // bytes of one request body
	DefaultMaxTexts      = 64       // texts per request
	DefaultMaxTextBytes  = 64 << 10 // bytes per text
	DefaultAdapterBudget = 64 << 20 // bytes of adapter files kept loaded (the LRU's size)
	// DefaultMaxTokens bounds the work of one request: tokens of all its texts after truncation
	// (8 texts of MiniLM's full 256). A forward pass costs about its token count, and an isolate
	// runs one at a time under a CPU limit per request.
	DefaultMaxTokens = 2048
)

// Config says where the service finds its data and how much it may hold.
type Config struct {
	Model     Source     // holds the base model: ModelPath + manifest.json and the files it lists
	ModelPath string     // directory of the base model in Model, e.g. "model/"
	Adapters  Source     // holds the index and the adapter directories it names
	IndexPath string     // e.g. "adapters/index.json"
	Cache     Cache      // optional: adapter files by sha256, in front of Adapters
	Hub       *HubConfig // optional: adapters named by hub id in setups (hubids.go)

	MaxBodyBytes  int64
	MaxTexts      int
	MaxTextBytes  int
	MaxTokens     int // tokens of all texts after truncation; < 0: no limit
	AdapterBudget int64

	// LinearMemory, if set, reports the bytes of the Wasm instance's linear memory.
	LinearMemory func() int64
}

// Service is the Worker's API. One Service (and one base model) lives as long as its isolate; it
// is safe for concurrent requests.
type Service struct {
	cfg     Config
	started time.Time

	base     lazy[*engine.Model]
	baseName string // the base model's name (engine.Info), set with base: which index entry of a name is ours
	index    lazy[*index]

	// mu is held from making sure a request's adapters are loaded to the end of its forward
	// pass, so that no other request evicts them in between.
	mu      sync.Mutex
	lru     *lru
	flights flights

	statsMu sync.Mutex
	stats   Stats
}

// Stats counts what the service has done since its isolate started.
type Stats struct {
	Requests       int64   `json:"requests"`
	Errors         int64   `json:"errors"`      // answers with status >= 400
	ColdStartMs    float64 `json:"coldStartMs"` // loading the base model, measured once
	AdapterLoads   int64   `json:"adapterLoads"`
	AdapterEvicts  int64   `json:"adapterEvictions"`
	AdapterFetches int64   `json:"adapterFetches"` // from the Source (cache misses)
	CacheHits      int64   `json:"cacheHits"`      // adapter files found in the Cache
	HubFetches     int64   `json:"hubFetches"`     // adapters fetched by hub id
}

// New returns a service; nothing is loaded until the first request needs it.
func New(cfg Config) *Service {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxTexts <= 0 {
		cfg.MaxTexts = min(DefaultMaxTexts, engine.MaxBatch)
	}
	if cfg.MaxTextBytes <= 0 {
		cfg.MaxTextBytes = DefaultMaxTextBytes
	}
	if cfg.MaxTokens == 0 {
		cfg.MaxTokens = DefaultMaxTokens
	}
	if cfg.AdapterBudget <= 0 {
		cfg.AdapterBudget = DefaultAdapterBudget
	}
	if cfg.ModelPath == "" {
		cfg.ModelPath = "model/"
	}
	if cfg.IndexPath == "" {
		cfg.IndexPath = "adapters/index.json"
	}
	s := &Service{cfg: cfg, started: time.Now(), lru: newLRU(cfg.AdapterBudget)}
	s.lru.removed = s.flights.evicted // under s.mu, as every lru call
	return s
}

// ServeHTTP routes a request. It never panics: a panic becomes a 500 and the service keeps serving.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rw := &statusWriter{ResponseWriter: w}
	defer func() {
		if v := recover(); v != nil {
			if !rw.wrote {
				writeError(rw, apiErrorf(http.StatusInternalServerError, CodeInternal, "internal error (recovered panic): %v", v))
			}
		}
		s.count(rw.status)
	}()
	var err *Error
	switch r.URL.Path {
	case "/healthz":
		err = s.allow(r, http.MethodGet, http.MethodHead)
		if err == nil {
			err = s.healthz(rw, r)
		}
	case "/v1/adapters":
		err = s.allow(r, http.MethodGet, http.MethodHead)
		if err == nil {
			err = s.adapters(rw, r)
		}
	case "/v1/classify":
		err = s.allow(r, http.MethodPost)
		if err == nil {
			err = s.classify(rw, r)
		}
	default:
		err = apiErrorf(http.StatusNotFound, CodeNotFound, "no route %s %s (try POST /v1/classify, GET /v1/adapters, GET /healthz)", clip(r.Method), clip(r.URL.Path))
	}
	if err != nil {
		writeError(rw, err)
	}
}

func (s *Service) allow(r *http.Request, methods ...string) *Error {
	for _, m := range methods {
		if r.Method == m {
			return nil
		}
	}
	return apiErrorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "%s %s: use %s", clip(r.Method), r.URL.Path, strings.Join(methods, " or "))
}

func (s *Service) count(status int) {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	s.stats.Requests++
	if status >= 400 {
		s.stats.Errors++
	}
}

func (s *Service) bump(f func(*Stats)) {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	f(&s.stats)
}

// model returns the base model, loading it on the first call (and again after a failed one).
func (s *Service) model(ctx context.Context) (*engine.Model, *Error) {
	m, err := s.base.get(func() (*engine.Model, error) {
		t0 := time.Now()
		m, err := s.loadBase(ctx)
		if err == nil {
			s.bump(func(st *Stats) { st.ColdStartMs = float64(time.Since(t0).Microseconds()) / 1000 })
			if info, err := m.Info(); err == nil {
				s.baseName = info.Name
			}
		}
		return m, err
	})
	if err != nil {
		return nil, apiErrorf(http.StatusServiceUnavailable, CodeUnavailable, "base model: %v", err)
	}
	return m, nil
}

// hfFiles are the files of a Hugging Face model directory, read when there is no manifest.json
// (pretrained.Load); the last one is optional.
var hfFiles = []string{pretrained.ConfigFile, pretrained.TokenizerFile, pretrained.SafetensorsFile, pretrained.SentenceBertConfig}

// loadBase reads the manifest under ModelPath and every file it lists, then builds the model
// (which checks each file's size and sha256 against the manifest). Without a manifest it reads
// a Hugging Face model directory (config.json, tokenizer.json, model.safetensors), unverified.
func (s *Service) loadBase(ctx context.Context) (*engine.Model, error) {
	dir := strings.Trim(s.cfg.ModelPath, "/") + "/"
	manBytes, err := s.cfg.Model.Get(ctx, dir+modelfile.ManifestName)
	if errors.Is(err, fs.ErrNotExist) {
		files := map[string][]byte{}
		for i, name := range hfFiles {
			b, err := s.cfg.Model.Get(ctx, dir+name)
			if errors.Is(err, fs.ErrNotExist) && i == len(hfFiles)-1 {
				break
			}
			if err != nil {
				return nil, err
			}
			files[name] = b
		}
		return engine.New(files)
	}
	if err != nil {
		return nil, err
	}
	man, err := modelfile.ParseManifest(manBytes)
	if err != nil {
		return nil, fmt.Errorf("%s%s: %w", dir, modelfile.ManifestName, err)
	}
	files := map[string][]byte{modelfile.ManifestName: manBytes}
	for _, f := range man.Files {
		p, err := joinPath(dir+modelfile.ManifestName, f.Name)
		if err != nil {
			return nil, err
		}
		b, err := s.cfg.Model.Get(ctx, p)
		if err != nil {
			return nil, err
		}
		files[f.Name] = b
	}
	return engine.New(files)
}

// Health is the body of GET /healthz.
type Health struct {
	OK       bool             `json:"ok"`
	Model    engine.Info      `json:"model"`
	Loaded   []string         `json:"adaptersLoaded"`
	Memory   Memory           `json:"memory"`
	Stats    Stats            `json:"stats"`
	UptimeMs int64            `json:"uptimeMs"`
	Limits   map[string]int64 `json:"limits"`
	SIMD     bool             `json:"simd"` // the Wasm SIMD kernels are in use (runtime/kernels)
	// Kernels names them (kernels.Name): "wasm-simd", "wasm-simd+relaxed" (RELAXED_SIMD on: the
	// relaxed recipe on the bundled relaxed-SIMD kernel), "wasm-simd+u7" (the same recipe on the
	// plain-SIMD qgemm_u7, if that kernel could not be instantiated), "go".
	Kernels string `json:"kernels"`
}

// Memory is what the instance holds: the Go heap and, on the edge, the Wasm linear memory
// (which only grows) — the bulk of the isolate's memory.
type Memory struct {
	engine.MemStats
	// LiveHeap is the Go heap the last GC found live: what the isolate keeps, without the garbage
	// HeapAlloc also counts. Steady over requests unless something is kept per request.
	LiveHeap     uint64 `json:"liveHeap"`
	LinearMemory int64  `json:"linearMemory,omitempty"`
	AdapterBytes int64  `json:"adapterBytes"` // adapter files loaded (the LRU's size)
}

func (s *Service) healthz(w http.ResponseWriter, r *http.Request) *Error {
	m, e := s.model(r.Context())
	if e != nil {
		return e
	}
	info, err := m.Info()
	if err != nil {
		return fromEngine(err)
	}
	h := Health{OK: true, Model: info, Memory: s.memory(), UptimeMs: time.Since(s.started).Milliseconds(), SIMD: kernels.SIMD(), Kernels: kernels.Name(),
		Limits: map[string]int64{"maxBodyBytes": s.cfg.MaxBodyBytes, "maxTexts": int64(s.cfg.MaxTexts),
			"maxTextBytes": int64(s.cfg.MaxTextBytes), "maxTokensPerText": int64(info.MaxLength), "maxTokens": int64(s.cfg.MaxTokens),
			"adapterBudget": s.cfg.AdapterBudget}}
	s.mu.Lock()
	h.Loaded = s.lru.names()
	h.Memory.AdapterBytes = s.lru.size
	s.mu.Unlock()
	s.statsMu.Lock()
	h.Stats = s.stats
	s.statsMu.Unlock()
	writeJSON(w, http.StatusOK, h)
	return nil
}

func (s *Service) memory() Memory {
	m := Memory{MemStats: engine.ReadMemStats()}
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	if metrics.Read(live); live[0].Value.Kind() == metrics.KindUint64 {
		m.LiveHeap = live[0].Value.Uint64()
	}
	if s.cfg.LinearMemory != nil {
		m.LinearMemory = s.cfg.LinearMemory()
	}
	return m
}

func (s *Service) adapters(w http.ResponseWriter, r *http.Request) *Error {
	idx, e := s.loadIndex(r.Context())
	if e != nil {
		return e
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=60")
	w.WriteHeader(http.StatusOK)
	w.Write(idx.raw)
	return nil
}

// ClassifyRequest is the body of POST /v1/classify: exactly one of Text and Texts.
type ClassifyRequest struct {
	Text     *string   `json:"text"`
	Texts    *[]string `json:"texts"`
	Adapters string    `json:"adapters"` // an adapter name or a setup expression: "Stack(a,b)", "Parallel(a,b)", …
	Head     string    `json:"head"`     // optional: use this head instead of the one the setup implies
	// TaskIDs is the task of each text for a MultiTask setup, as Python's task_ids: a child's index
	// or an adapter name among its children, one per text (ignored without a MultiTask).
	TaskIDs []json.RawMessage `json:"task_ids"`
	tasks   []engine.Task
}

// ClassifyResponse is the answer: one result per text, in order.
type ClassifyResponse struct {
	Model    string           `json:"model"`
	Adapters string           `json:"adapters"`
	Results  []*engine.Result `json:"results"`
}

func (s *Service) classify(w http.ResponseWriter, r *http.Request) *Error {
	req, e := s.decode(r)
	if e != nil {
		return e
	}
	texts := []string{}
	if req.Text != nil {
		texts = []string{*req.Text}
	} else if req.Texts != nil {
		texts = *req.Texts
	}
	m, e := s.model(r.Context())
	if e != nil {
		return e
	}
	if e := s.checkTokens(m, texts, req.Adapters); e != nil {
		return e
	}
	results, e := s.run(r.Context(), m, req.Adapters, req.Head, texts, req.tasks)
	if e != nil {
		return e
	}
	info, _ := m.Info()
	writeJSON(w, http.StatusOK, ClassifyResponse{Model: info.Name, Adapters: req.Adapters, Results: results})
	return nil
}

// decode reads and checks a classify request (the body is read as JSON whatever its
// Content-Type, so that a bare `curl -d` works): 413 for a body, a text or a batch over its limit,
// 400 for anything else wrong.
func (s *Service) decode(r *http.Request) (*ClassifyRequest, *Error) {
	if r.ContentLength > s.cfg.MaxBodyBytes {
		return nil, apiErrorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "body is %d bytes; at most %d", r.ContentLength, s.cfg.MaxBodyBytes)
	}
	if r.Body == nil {
		return nil, apiErrorf(http.StatusBadRequest, CodeInvalidJSON, "empty body: send a JSON object")
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxBodyBytes+1))
	if err != nil {
		return nil, apiErrorf(http.StatusBadRequest, CodeInvalidRequest, "reading the body: %v", err)
	}
	if int64(len(body)) > s.cfg.MaxBodyBytes {
		return nil, apiErrorf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "body is over %d bytes", s.cfg.MaxBodyBytes)
	}
	var req ClassifyRequest
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field == "" {
			return nil, apiErrorf(http.StatusBadRequest, CodeInvalidRequest, "body must be a JSON object, not %s", te.Value)
		}
		if errors.As(err, &te) {
			return nil, apiErrorf(http.StatusBadRequest, CodeInvalidRequest, "field %q: want %s, got JSON %s", clip(te.Field), jsonType(te.Type), te.Value)
		}
		if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			if f, err := strconv.Unquote(field); err == nil {
				field = f
			}
			return nil, apiErrorf(http.StatusBadRequest, CodeInvalidRequest, "unknown field %q (fields: text, texts, adapters, head, task_ids)", clip(field))
		}
		return nil, apiErrorf(http.StatusBadRequest, CodeInvalidJSON, "body is not a JSON object: %v", err)
	}
	if dec.More() {
		return nil, apiErrorf(http.StatusBadRequest, CodeInvalidJSON, "body has more than one JSON value")
	}
	switch {
	case req.Text != nil && req.Texts != nil:
		return nil, apiErrorf(http.StatusBadRequest, CodeInvalidRequest, `give "text" or "texts", not both`)
	case req.Text == nil && req.Texts == nil:
		return nil, apiErrorf(http.StatusBadRequest, CodeInvalidRequest, `give "text": string or "texts": [string, …]`)
	case strings.TrimSpace(req.Adapters) == "":
		return nil, apiErrorf(http.StatusBadRequest, CodeInvalidRequest, `give "adapters": an adapter name or a setup such as "Stack(a,b)" (GET /v1/adapters lists them)`)
	}
	texts := []string{}
	if req.Text != nil {
		texts = append(texts, *req.Text)
	} else {
		texts = *req.Texts
	}
	if len(texts) > s.cfg.MaxTexts {
		return nil, apiErrorf(http.StatusRequestEntityTooLarge, CodeTooManyTexts, "%d texts; at most %d per request", len(texts), s.cfg.MaxTexts)
	}
	for i, t := range texts {
		if len(t) > s.cfg.MaxTextBytes {
			return nil, apiErrorf(http.StatusRequestEntityTooLarge, CodeTextTooLarge, "text %d is %d bytes; at most %d (texts over the model's max length are truncated, as the tokenizer does)", i, len(t), s.cfg.MaxTextBytes)
		}
	}
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			return nil, apiErrorf(http.StatusBadRequest, CodeInvalidRequest, "text %d is empty or only whitespace: send some words", i)
		}
	}
	if req.TaskIDs != nil {
		if len(req.TaskIDs) != len(texts) {
			return nil, apiErrorf(http.StatusBadRequest, CodeInvalidRequest, `"task_ids" has %d entries for %d texts`, len(req.TaskIDs), len(texts))
		}
		req.tasks = make([]engine.Task, len(texts))
		for i, raw := range req.TaskIDs {
			if string(raw) != "null" && json.Unmarshal(raw, &req.tasks[i].ID) == nil {
				continue
			}
			if string(raw) == "null" || json.Unmarshal(raw, &req.tasks[i].Name) != nil || req.tasks[i].Name == "" {
				return nil, apiErrorf(http.StatusBadRequest, CodeInvalidRequest, `"task_ids"[%d] is %s: want an integer or an adapter name`, i, clip(string(raw)))
			}
		}
	}
	return &req, nil
}

// jsonType names a Go type of ClassifyRequest's fields in JSON's words: "a string", "an array of
// strings" (error texts never show Go's type names).
func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(jsonType(t.Elem()), "an "), "a ") + "s"
	case reflect.Pointer:
		return jsonType(t.Elem())
	case reflect.Bool:
		return "a boolean"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a number"
}

// checkTokens refuses a request whose texts are more than MaxTokens tokens in all, counted as
// the forward pass will see them: truncated to the model's max length, and once per copy of the
// batch that a Parallel in the setup runs. A setup that does not parse is left to the run,
// which reports it.
func (s *Service) checkTokens(m *engine.Model, texts []string, setup string) *Error {
	if s.cfg.MaxTokens < 0 || len(texts) == 0 {
		return nil
	}
	encs, err := m.Tokenize(texts, 0)
	if err != nil {
		return fromEngine(err)
	}
	n := 0
	for _, e := range encs {
		for _, v := range e.AttentionMask {
			n += int(v)
		}
	}
	copies := 1
	if b, err := adapters.ParseSetup(setup); err == nil {
		copies = b.ParallelChannels()
	}
	if n*copies > s.cfg.MaxTokens {
		if copies > 1 {
			return apiErrorf(http.StatusRequestEntityTooLarge, CodeTooManyTokens, "the texts are %d tokens (each truncated to the model's max length), run %d times by the setup's Parallel: %d; at most %d per request: send fewer or shorter texts", n, copies, n*copies, s.cfg.MaxTokens)
		}
		return apiErrorf(http.StatusRequestEntityTooLarge, CodeTooManyTokens, "the texts are %d tokens (each truncated to the model's max length); at most %d per request: send fewer or shorter texts", n, s.cfg.MaxTokens)
	}
	return nil
}

// lazy holds a value loaded on first use; a failed load is retried by the next caller, so a
// transient failure never leaves the isolate broken.
type lazy[T any] struct {
	mu sync.Mutex
	v  T
	ok bool
}

func (l *lazy[T]) get(load func() (T, error)) (T, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ok {
		return l.v, nil
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	l.v, l.ok = v, true
	return v, nil
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}
