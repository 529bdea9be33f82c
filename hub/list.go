package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DefaultAdapterHubURL is the archived AdapterHub index (ADAPTER_HUB_URL in
// adapter-transformers 3.x and adapters 1.x src/adapters/utils.py).
const DefaultAdapterHubURL = "https://raw.githubusercontent.com/Adapter-Hub/Hub/master/dist/v2/"

// Listing bounds: one listing response, the pages followed, and how long a cached listing is used.
const (
	MaxListingBytes = 64 << 20
	MaxListingPages = 200
	ListingTTL      = 10 * time.Minute
)

// MaxAdapterHubIndexBytes bounds an AdapterHub index file, index/{model_name}.json: the archived
// Hub's are tens of KB, and resolving an identifier decodes the whole file (adapters.
// ResolveAdapterHub), which holds several times its size.
const MaxAdapterHubIndexBytes = 8 << 20

// AdapterInfo is one listed adapter. The fields are those of the libraries' AdapterInfo
// (source, adapter_id, model_name, task, subtask, username, sha1_checksum; adapter_id is "id"
// here) plus Method (the config's "architecture", "bottleneck" when a config has none, as
// adapter_config.py reads it) and Size (bytes, when the source says).
type AdapterInfo struct {
	Source      string          `json:"source"`
	ID          string          `json:"id"`
	ModelName   string          `json:"model_name,omitempty"`
	ModelType   string          `json:"model_type,omitempty"` // where the listing records it (a static index.json)
	Task        string          `json:"task,omitempty"`
	Subtask     string          `json:"subtask,omitempty"`
	Username    string          `json:"username,omitempty"`
	Method      string          `json:"method,omitempty"`
	Size        int64           `json:"size,omitempty"`
	SHA1        string          `json:"sha1_checksum,omitempty"`
	PipelineTag string          `json:"pipeline_tag,omitempty"`
	Config      json.RawMessage `json:"adapter_config,omitempty"`
}

// Lister lists adapters from the hub's model API ("hf") and the AdapterHub index ("ah").
type Lister struct {
	Client        *Client // endpoint, token, cache, HTTP client
	AdapterHubURL string  // "" = DefaultAdapterHubURL
	Now           func() time.Time
}

// List returns the adapters of source ("hf", "ah", or "" for both, "ah" first as
// list_adapters does) trained for modelName ("" = all), matching model_name exactly as the
// Python function does. An unreachable source is an error; listings are cached for ListingTTL.
func (l *Lister) List(ctx context.Context, source, modelName string) ([]AdapterInfo, error) {
	var out []AdapterInfo
	switch source {
	case "", "ah", "hf":
	default:
		return nil, fmt.Errorf(`hub: unknown source %q (want "hf" or "ah")`, clip(source))
	}
	if source == "" || source == "ah" {
		got, err := l.listAH(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	if source == "" || source == "hf" {
		got, err := l.listHF(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	if modelName != "" {
		kept := out[:0]
		for _, a := range out {
			if a.ModelName == modelName {
				kept = append(kept, a)
			}
		}
		out = kept
	}
	return out, nil
}

// listAH reads `{AdapterHubURL}all.json`: a JSON list of AdapterInfo dicts, each
// {source, adapter_id, model_name, task, subtask, username, adapter_config, sha1_checksum}
// (adapter-transformers 3.x list_adapters: `AdapterInfo(**info) for info in all.json`).
func (l *Lister) listAH(ctx context.Context) ([]AdapterInfo, error) {
	base := l.AdapterHubURL
	if base == "" {
		base = DefaultAdapterHubURL
	}
	body, _, err := l.fetchListing(ctx, "ah listing", strings.TrimRight(base, "/")+"/all.json", MaxListingBytes)
	if err != nil {
		return nil, err
	}
	return parseAllJSON(body)
}

// parseAllJSON reads AdapterHub's all.json.
func parseAllJSON(body []byte) ([]AdapterInfo, error) {
	var raw []*struct {
		Source    string          `json:"source"`
		AdapterID string          `json:"adapter_id"`
		ModelName string          `json:"model_name"`
		Task      string          `json:"task"`
		Subtask   string          `json:"subtask"`
		Username  string          `json:"username"`
		Config    json.RawMessage `json:"adapter_config"`
		SHA1      string          `json:"sha1_checksum"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, &Error{Repo: "AdapterHub all.json", Kind: ErrProtocol, Detail: "not a JSON list of adapters"}
	}
	out := make([]AdapterInfo, 0, len(raw))
	for _, r := range raw {
		if r == nil { // AdapterInfo(**None) fails in Python; no entry without fields
			return nil, &Error{Repo: "AdapterHub all.json", Kind: ErrProtocol, Detail: "not a JSON list of adapters"}
		}
		src := r.Source
		if src == "" {
			src = "ah"
		}
		out = append(out, AdapterInfo{Source: src, ID: r.AdapterID, ModelName: r.ModelName, Task: r.Task,
			Subtask: r.Subtask, Username: r.Username, Method: methodOf(r.Config), SHA1: r.SHA1, Config: compactConfig(r.Config)})
	}
	return out, nil
}

// hfModel is the part of `GET /api/models?full=True&config=True` read here (huggingface_hub's
// ModelInfo: id, sha, pipeline_tag, config). The model name sits in config.adapters.model_name
// (adapters 1.x) or config.adapter_transformers.model_name (adapter-transformers 3.x).
type hfModel struct {
	ID          string `json:"id"`
	ModelID     string `json:"modelId"`
	SHA         string `json:"sha"`
	PipelineTag string `json:"pipeline_tag"`
	Config      struct {
		Adapters *struct {
			ModelName string `json:"model_name"`
		} `json:"adapters"`
		AdapterTransformers *struct {
			ModelName string `json:"model_name"`
		} `json:"adapter_transformers"`
	} `json:"config"`
}

// hfFilters are the list_models filters of the two libraries: adapters 1.x asks for
// filter="adapters", adapter-transformers 3.x for filter="adapter-transformers" (the hub's
// pf adapters carry the latter). Both are listed; an id in both appears once.
var hfFilters = []string{"adapters", "adapter-transformers"}

// listHF pages through `{endpoint}/api/models?filter=F&full=True&config=True` (HfApi.list_models
// with full=True, fetch_config=True; pages follow the Link rel="next" header, utils/_pagination.py).
func (l *Lister) listHF(ctx context.Context) ([]AdapterInfo, error) {
	seen := map[string]bool{}
	var out []AdapterInfo
	for _, filter := range hfFilters {
		next := l.Client.endpoint() + "/api/models?" + url.Values{"filter": {filter}, "full": {"True"}, "config": {"True"}}.Encode()
		for page := 0; next != ""; page++ {
			if page == MaxListingPages {
				return nil, &Error{Repo: "hub model listing", Kind: ErrTooLarge, Detail: fmt.Sprintf("more than %d pages", MaxListingPages)}
			}
			body, hdr, err := l.fetchListing(ctx, "hf listing", next, MaxListingBytes)
			if err != nil {
				return nil, err
			}
			page, err := parseModels(body)
			if err != nil {
				return nil, err
			}
			for _, a := range page {
				if !seen[a.ID] {
					seen[a.ID] = true
					out = append(out, a)
				}
			}
			next = nextLink(hdr.Get("Link"), next)
		}
	}
	return out, nil
}

// parseModels reads one page of the hub's model listing; entries without an id are skipped.
func parseModels(body []byte) ([]AdapterInfo, error) {
	var models []*hfModel
	if err := json.Unmarshal(body, &models); err != nil {
		return nil, &Error{Repo: "hub model listing", Kind: ErrProtocol, Detail: "not a JSON list of models"}
	}
	out := make([]AdapterInfo, 0, len(models))
	for _, m := range models {
		if m == nil { // ModelInfo(**None) fails in Python
			return nil, &Error{Repo: "hub model listing", Kind: ErrProtocol, Detail: "not a JSON list of models"}
		}
		id := m.ID
		if id == "" {
			id = m.ModelID
		}
		if id == "" {
			continue
		}
		a := AdapterInfo{Source: "hf", ID: id, Username: strings.SplitN(id, "/", 2)[0], SHA1: m.SHA, PipelineTag: m.PipelineTag}
		if c := m.Config.Adapters; c != nil {
			a.ModelName = c.ModelName
		} else if c := m.Config.AdapterTransformers; c != nil {
			a.ModelName = c.ModelName
		}
		out = append(out, a)
	}
	return out, nil
}

// nextLink reads `<url>; rel="next"` from a Link header (GitHub's format, as requests parses
// it), resolved against the current URL; "" if there is none.
func nextLink(h, cur string) string {
	for _, part := range strings.Split(h, ",") {
		part = strings.TrimSpace(part)
		i := strings.IndexByte(part, '>')
		if !strings.HasPrefix(part, "<") || i < 0 {
			continue
		}
		params := part[i+1:]
		if !strings.Contains(params, `rel="next"`) && !strings.Contains(params, "rel=next") {
			continue
		}
		base, err := url.Parse(cur)
		if err != nil {
			return ""
		}
		u, err := base.Parse(part[1:i])
		if err != nil {
			return ""
		}
		return u.String()
	}
	return ""
}

// fetchListing GETs a listing of at most max bytes (with the token on the endpoint's host) or
// returns the copy cached within ListingTTL; when the source cannot be reached, an older cached
// copy is used. what names it in errors ("ah listing").
func (l *Lister) fetchListing(ctx context.Context, what, rawURL string, max int64) ([]byte, http.Header, error) {
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	c := l.Client
	cacheFile := ""
	if c.CacheDir != "" {
		cacheFile = filepath.Join(c.CacheDir, "hub", "listings", listingKey(rawURL))
	}
	type record struct {
		Link string          `json:"link,omitempty"`
		Body json.RawMessage `json:"body"`
	}
	readCache := func(fresh bool) ([]byte, http.Header, bool) {
		if cacheFile == "" {
			return nil, nil, false
		}
		st, err := os.Stat(cacheFile)
		if err != nil || (fresh && now().Sub(st.ModTime()) > ListingTTL) {
			return nil, nil, false
		}
		b, err := os.ReadFile(cacheFile)
		var r record
		if err != nil || json.Unmarshal(b, &r) != nil {
			return nil, nil, false
		}
		h := http.Header{}
		if r.Link != "" {
			h.Set("Link", r.Link)
		}
		return r.Body, h, true
	}
	if b, h, ok := readCache(true); ok {
		return b, h, nil
	}
	if c.Offline {
		if b, h, ok := readCache(false); ok {
			return b, h, nil
		}
		return nil, nil, &Error{Repo: what, Kind: ErrNotCached}
	}
	resp, _, err := c.get(ctx, rawURL, nil)
	if err != nil {
		if b, h, ok := readCache(false); ok {
			return b, h, nil
		}
		return nil, nil, &Error{Repo: what, Kind: ErrNetwork, Detail: networkDetail(err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e := c.statusError(resp, answer{}, what, "", "", false)
		return nil, nil, e
	}
	if resp.ContentLength > max {
		return nil, nil, &Error{Repo: what, Kind: ErrTooLarge, Detail: fmt.Sprintf("%d bytes declared, limit %d", resp.ContentLength, max)}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, nil, &Error{Repo: what, Kind: ErrNetwork, Detail: networkDetail(err)}
	}
	if int64(len(b)) > max {
		return nil, nil, &Error{Repo: what, Kind: ErrTooLarge, Detail: fmt.Sprintf("more than %d bytes", max)}
	}
	if !json.Valid(b) {
		return nil, nil, &Error{Repo: what, Kind: ErrProtocol, Detail: "not JSON"}
	}
	if cacheFile != "" {
		rec, err := json.Marshal(record{Link: resp.Header.Get("Link"), Body: b})
		if err == nil {
			_ = writeAtomic(cacheFile, rec) // a listing cache that cannot be written is no failure
		}
	}
	return b, resp.Header, nil
}

// listingKey is a file name for a listing URL.
func listingKey(rawURL string) string {
	var b strings.Builder
	for _, r := range rawURL {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	s := b.String()
	if len(s) > 200 {
		s = s[len(s)-200:]
	}
	return s + ".json"
}

// methodOf names an AdapterHub config's method: its "architecture" ("lora", "prefix_tuning",
// "union", …) or "bottleneck" for a config without one (adapter_config.py: bottleneck configs
// carry no architecture key). "" for no config.
func methodOf(cfg json.RawMessage) string {
	if len(cfg) == 0 || string(cfg) == "null" {
		return ""
	}
	var c struct {
		Architecture *string `json:"architecture"`
	}
	if err := json.Unmarshal(cfg, &c); err != nil {
		return ""
	}
	if c.Architecture == nil || *c.Architecture == "" {
		return "bottleneck"
	}
	return *c.Architecture
}

// compactConfig keeps a config that is a JSON object (adapter configs are); nil otherwise.
func compactConfig(cfg json.RawMessage) json.RawMessage {
	if len(cfg) == 0 || cfg[0] != '{' {
		return nil
	}
	return cfg
}

// AdapterHubIndex returns the AdapterHub index of a base model, `{AdapterHubURL}index/{modelName}.json`
// (ADAPTER_HUB_INDEX_FILE in adapter-transformers 3.x and adapters 1.x utils.py), the file
// pull_from_hub resolves "task/subtask@org" identifiers in (adapters.ResolveAdapterHub). It is
// fetched and cached as listings are (ListingTTL; an older copy when the source cannot be
// reached or the client is offline), and bounded by max bytes (0 = MaxAdapterHubIndexBytes).
// modelName must have a hub id's form ("bert-base-uncased", "owner/name"): ErrBadID otherwise.
func (l *Lister) AdapterHubIndex(ctx context.Context, modelName string, max int64) ([]byte, error) {
	what := "AdapterHub index of " + clip(modelName)
	if !IsID(modelName) {
		return nil, &Error{Repo: what, Kind: ErrBadID, Detail: `the base model's name must be "name" or "owner/name"`}
	}
	if max <= 0 {
		max = MaxAdapterHubIndexBytes
	}
	base := l.AdapterHubURL
	if base == "" {
		base = DefaultAdapterHubURL
	}
	body, _, err := l.fetchListing(ctx, what, strings.TrimRight(base, "/")+"/index/"+modelName+".json", max)
	if err != nil {
		return nil, err
	}
	return body, nil
}
