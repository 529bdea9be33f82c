package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/adapterwasm/adapterwasm/adapters"
	"github.com/adapterwasm/adapterwasm/wasm/engine"
)

// index is the parsed adapter index (adapters.Index, from `adapterwasm index`).
type index struct {
	raw      []byte
	adapters map[string][]*adapters.IndexEntry // kind "adapter", by the name it loads under, in index order
	fusions  map[string][]*adapters.IndexEntry // kind "fusion", by its name ("a,b" unless named)
}

// pick returns the entry of a name for the base model modelName, as the js package's
// Index.find: the first whose model_name is the base's (or empty); failing that the first, whose
// load then says why it does not fit. An index may hold one name for several bases
// (`adapterwasm index` refuses one name twice for the same base).
func pick(list []*adapters.IndexEntry, modelName string) *adapters.IndexEntry {
	for _, e := range list {
		if e.ModelName == "" || modelName == "" || e.ModelName == modelName {
			return e
		}
	}
	if len(list) > 0 {
		return list[0]
	}
	return nil
}

func (s *Service) loadIndex(ctx context.Context) (*index, *Error) {
	idx, err := s.index.get(func() (*index, error) {
		raw, err := s.cfg.Adapters.Get(ctx, s.cfg.IndexPath)
		if err != nil {
			return nil, err
		}
		var parsed adapters.Index
		if err := json.Unmarshal(raw, &parsed); err != nil {
			return nil, fmt.Errorf("%s: %w", s.cfg.IndexPath, err)
		}
		idx := &index{raw: raw, adapters: map[string][]*adapters.IndexEntry{}, fusions: map[string][]*adapters.IndexEntry{}}
		for i := range parsed.Adapters {
			e := &parsed.Adapters[i]
			m := idx.adapters
			if e.Kind == "fusion" {
				m = idx.fusions
			}
			m[e.Name] = append(m[e.Name], e)
		}
		return idx, nil
	})
	if err != nil {
		return nil, apiErrorf(http.StatusServiceUnavailable, CodeUnavailable, "adapter index: %v", err)
	}
	return idx, nil
}

// need is one adapter (or fusion) a setup needs: an index entry, or an adapter named by hub id.
type need struct {
	name  string
	entry *adapters.IndexEntry // nil for a hub adapter
	hub   hubRef
}

// resolve returns what setup needs, adapters before the fusions over them. A name the index
// lacks is a hub adapter if hc allows it (HubConfig): with hc nil it is unknown, as before.
// modelName is the base's name: where the index has a name for several bases, the entry for
// this one (pick).
func (idx *index) resolve(setup, modelName string, hc *HubConfig) ([]need, *Error) {
	names, fusions, err := engine.SetupNames(setup)
	if err != nil {
		return nil, apiErrorf(http.StatusBadRequest, CodeInvalidSetup, "adapters %q: %v", clip(setup), err)
	}
	if e := refuseDuplicateBranches(setup); e != nil {
		return nil, e
	}
	var out []need
	var unknown []string
	for _, n := range names {
		if e := pick(idx.adapters[n], modelName); e != nil {
			out = append(out, need{name: n, entry: e})
			continue
		}
		if r, ok := parseHubRef(n); ok && hc != nil {
			if e := hc.checkHubRef(&r); e != nil {
				return nil, e
			}
			out = append(out, need{name: n, hub: r})
			continue
		}
		unknown = append(unknown, clip(n))
	}
	for _, n := range fusions {
		if e := pick(idx.fusions[n], modelName); e != nil {
			out = append(out, need{name: n, entry: e})
		} else {
			unknown = append(unknown, "fusion "+clip(n))
		}
	}
	if len(unknown) > 0 {
		known := make([]string, 0, len(idx.adapters))
		for n := range idx.adapters {
			known = append(known, n)
		}
		sort.Strings(known)
		hint := ""
		if hc != nil {
			hint = "; or a hub id this Worker allows, hf:OWNER/NAME[@REVISION] (or ah:IDENTIFIER where HUB_SOURCES has ah)"
		}
		return nil, apiErrorf(http.StatusNotFound, CodeUnknownAdapter, "unknown adapter %s (known: %s; GET /v1/adapters%s)", strings.Join(unknown, ", "), strings.Join(known, ", "), hint)
	}
	return out, nil
}

// refuseDuplicateBranches refuses a Parallel with the same branch twice (Parallel(a,a), or the
// same Stack twice): each branch runs the whole batch again, and the answer is keyed by head, so
// the copies would cost a forward pass each to say one thing. The adapters library accepts it
// (composition.py checks nothing of the kind); the Worker bounds each request's work, so it
// refuses it up front. setup has parsed already (SetupNames).
func refuseDuplicateBranches(setup string) *Error {
	b, err := adapters.ParseSetup(setup)
	if err != nil {
		return nil
	}
	var dup string
	var walk func(b *adapters.Block)
	walk = func(b *adapters.Block) {
		if b.Kind == adapters.Parallel && dup == "" {
			seen := map[string]bool{}
			for _, c := range b.Children {
				if k := c.String(); seen[k] {
					dup = k
					return
				} else {
					seen[k] = true
				}
			}
		}
		for _, c := range b.Children {
			walk(c)
		}
	}
	walk(b)
	if dup == "" {
		return nil
	}
	return apiErrorf(http.StatusBadRequest, CodeInvalidSetup, "adapters %q: Parallel has the branch %s twice; each branch runs the whole batch again: name it once", clip(setup), clip(dup))
}

// run classifies texts with setup: it fetches the adapters the setup needs and are not loaded
// (outside the lock, so that a slow fetch does not stall other requests), then under the lock
// loads them, evicts the least recently used others over the budget, and runs the forward pass.
func (s *Service) run(ctx context.Context, m *engine.Model, setup, head string, texts []string, tasks []engine.Task) ([]*engine.Result, *Error) {
	idx, e := s.loadIndex(ctx)
	if e != nil {
		return nil, e
	}
	needs, e := idx.resolve(setup, s.baseName, s.cfg.Hub)
	if e != nil {
		return nil, e
	}
	fetched := map[string]map[string][]byte{}
	// A flight this request fetched stays until its adapter is loaded (flights.do); whatever this
	// request leaves unloaded (it failed first) must not keep its files alive.
	defer func() {
		for name := range fetched {
			s.flights.forget(name)
		}
	}()
	for _, n := range needs {
		s.mu.Lock()
		loaded := s.lru.has(n.name)
		s.mu.Unlock()
		if loaded {
			continue
		}
		files, e := s.fetchNeed(ctx, n)
		if e != nil {
			return nil, e
		}
		fetched[n.name] = files // nil: another request loaded it meanwhile
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	keep := map[string]bool{}
	for _, n := range needs {
		keep[n.name] = true
		if s.lru.has(n.name) {
			s.lru.touch(n.name)
			continue
		}
		files := fetched[n.name]
		if files == nil { // loaded when we looked, evicted since: fetch again (rare)
			var e *Error
			if files, e = s.fetchNeed(ctx, n); e != nil {
				return nil, e
			}
		}
		if _, err := m.LoadAdapter(n.name, files); err != nil {
			s.flights.forget(n.name)
			return nil, apiErrorf(http.StatusBadGateway, CodeAdapterLoad, "adapter %s: %v", clip(n.name), err)
		}
		var size int64
		var fuses []string
		if n.entry != nil {
			size, fuses = n.entry.Size, n.entry.Fuses
		} else {
			for _, b := range files {
				size += int64(len(b))
			}
		}
		s.lru.add(n.name, size, fuses)
		s.flights.loaded(n.name)
		s.bump(func(st *Stats) { st.AdapterLoads++ })
	}
	for _, name := range s.lru.over(keep) {
		// Unloading an adapter drops the fusions over it too, in the engine and in the LRU.
		if err := m.UnloadAdapter(name); err != nil && engine.CodeOf(err) != engine.CodeNotFound {
			return nil, fromEngine(err)
		}
		s.lru.remove(name)
		s.bump(func(st *Stats) { st.AdapterEvicts++ })
	}
	results, err := m.ClassifyTasks(texts, setup, head, tasks)
	if err != nil {
		return nil, fromEngine(err)
	}
	return results, nil
}

// fetchNeed gets the files of what a setup needs, one fetch per adapter at a time (concurrent
// requests for it share the fetch).
func (s *Service) fetchNeed(ctx context.Context, n need) (map[string][]byte, *Error) {
	if n.entry == nil {
		files, err := s.flights.do(n.name, func() (map[string][]byte, error) { return s.fetchHub(ctx, n.hub) })
		if err != nil {
			return nil, fromHub(n.name, err)
		}
		return files, nil
	}
	files, err := s.flights.do(n.name, func() (map[string][]byte, error) { return s.fetchAdapter(ctx, n.entry) })
	if err != nil {
		return nil, apiErrorf(http.StatusBadGateway, CodeAdapterLoad, "adapter %s: %v", n.name, err)
	}
	return files, nil
}

// fetchAdapter gets every file of an index entry, from the Cache when it has them, checking each
// against the size and sha256 the index gives.
func (s *Service) fetchAdapter(ctx context.Context, ent *adapters.IndexEntry) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, f := range ent.Files {
		key := "sha256/" + f.SHA256
		if s.cfg.Cache != nil && f.SHA256 != "" {
			if b, ok := s.cfg.Cache.Get(ctx, key); ok && check(b, f) == nil {
				s.bump(func(st *Stats) { st.CacheHits++ })
				files[f.Name] = b
				continue
			}
		}
		p, err := joinPath(s.cfg.IndexPath, ent.Path+"/"+f.Name)
		if err != nil {
			return nil, err
		}
		b, err := s.cfg.Adapters.Get(ctx, p)
		if err != nil {
			return nil, err
		}
		s.bump(func(st *Stats) { st.AdapterFetches++ })
		if err := check(b, f); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if s.cfg.Cache != nil && f.SHA256 != "" {
			s.cfg.Cache.Put(ctx, key, b)
		}
		files[f.Name] = b
	}
	return files, nil
}

// check compares a file's bytes with its index record.
func check(b []byte, f adapters.IndexFile) error {
	if f.Size > 0 && int64(len(b)) != f.Size {
		return fmt.Errorf("%d bytes, the index says %d", len(b), f.Size)
	}
	if f.SHA256 != "" {
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); !strings.EqualFold(got, f.SHA256) {
			return fmt.Errorf("sha256 %s, the index says %s", got, f.SHA256)
		}
	}
	return nil
}

// flights runs one fetch per key at a time; concurrent callers for the same key share its result.
type flights struct {
	mu       sync.Mutex
	m        map[string]*flight
	resident map[string]bool // adapters loaded in the engine (run marks them under s.mu)
}

type flight struct {
	done  chan struct{}
	files map[string][]byte
	err   error
}

// do returns the files of the adapter called name, fetching them once however many requests ask
// at the same time; nil files and no error when it is loaded already. A successful flight stays
// until the adapter is loaded (loaded) or its load failed (forget): a request that saw it
// unloaded and asks after the fetch ended gets those files, not a second fetch, and one that
// asks after the load gets nil.
func (f *flights) do(name string, fetch func() (map[string][]byte, error)) (map[string][]byte, error) {
	f.mu.Lock()
	if f.resident[name] {
		f.mu.Unlock()
		return nil, nil
	}
	if f.m == nil {
		f.m = map[string]*flight{}
	}
	if c := f.m[name]; c != nil {
		f.mu.Unlock()
		<-c.done
		return c.files, c.err
	}
	c := &flight{done: make(chan struct{})}
	f.m[name] = c
	f.mu.Unlock()
	c.files, c.err = fetch()
	f.mu.Lock()
	if c.err != nil && f.m[name] == c {
		delete(f.m, name) // a failed fetch is tried again by the next request
	}
	f.mu.Unlock()
	close(c.done)
	return c.files, c.err
}

// loaded records that name's adapter is loaded: its flight's files are no longer needed.
func (f *flights) loaded(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, name)
	if f.resident == nil {
		f.resident = map[string]bool{}
	}
	f.resident[name] = true
}

// forget drops name's flight (its load failed: the next request fetches again).
func (f *flights) forget(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, name)
}

// evicted records that name's adapter was unloaded.
func (f *flights) evicted(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.resident, name)
}
