package service

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/adapterwasm/adapterwasm/adapters"
	"github.com/adapterwasm/adapterwasm/hub"
)

// DefaultMaxHubAdapterBytes bounds the files of one adapter fetched by hub id (config, weights,
// head together): a SeqBn adapter with its head on bert-base is ~6 MB, on MiniLM ~1 MB.
const DefaultMaxHubAdapterBytes = 32 << 20

// MaxAHIndexBytes bounds an AdapterHub index file read for "ah:" ids. The archived Hub's are tens
// of KB; resolving decodes the whole file into maps (several times its size, in a 128 MB isolate).
const MaxAHIndexBytes = 1 << 20

// maxAHIdentifier bounds an "ah:" identifier (the JS package's and the CLI's bound).
const maxAHIdentifier = 512

// HubConfig lets requests name adapters by hub id in their setups, for the ids the operator
// allows. Without it (Config.Hub nil) a name that is not in the index is unknown, as before.
//
// In a setup, a name is a hub id when it is not in the index and is written "hf:ID[@REV]", or
// "OWNER/NAME[@REV]" (an index name has no '/'); or an AdapterHub identifier written
// "ah:IDENTIFIER" ("ah:sentiment/imdb@ukp", "ah:@ukp/file"), resolved as the adapters library's
// pull_from_hub does (adapters.ResolveAdapterHub) on the base model's AdapterHub index
// (`{AdapterHubURL}index/{AHModelName}.json`) to the repository "AdapterHub/<file>", which Allow
// and Pins then apply to as to an hf id. The adapter is loaded under the name as written, so the
// setup runs unchanged and its head answers under it. Its files are the hub's
// (hub.AdapterFiles), fetched into memory (hub.Client.FetchBytes: the first file's X-Repo-Commit
// pins the rest) and kept in the LRU with the index's adapters: one fetch per isolate while it
// stays loaded.
type HubConfig struct {
	Client *hub.Client // endpoint, token (HF_TOKEN), HTTP transport
	// Sources are the sources requests may use: "hf" (the hub), "ah" (AdapterHub identifiers,
	// whose repositories come from the hub). None: ids are refused.
	Sources []string
	// Allow holds patterns of the ids requests may name (path.Match: "AdapterHub/*",
	// "org/sentiment-*", "*/*" for any owner's); for "ah:" ids, of the repository the identifier
	// resolves to. None: no id is allowed.
	Allow []string
	// AdapterHubURL is the AdapterHub index's base ("" = hub.DefaultAdapterHubURL).
	AdapterHubURL string
	// AHModelName is the base model's name in the AdapterHub index ("" = the base model's own
	// name, the manifest's source, e.g. sentence-transformers/all-MiniLM-L6-v2).
	AHModelName string
	// Pins fix the revision of an id (a commit, ideally): a request naming no revision gets it,
	// one naming another revision is refused.
	Pins map[string]string
	// Revision is what an id without "@REV" and without a pin loads at ("" = main).
	Revision string
	// MaxAdapterBytes bounds one adapter's files (0 = DefaultMaxHubAdapterBytes).
	MaxAdapterBytes int64
}

// HubFromEnv reads the hub configuration from the Worker's variables (getenv returns "" for an
// unset one); nil when HUB_SOURCES is unset or empty:
//
//	HUB_SOURCES         "hf", "ah": the sources requests may name ids from (comma-separated)
//	HUB_ALLOW           comma-separated id patterns (path.Match), e.g. "AdapterHub/*,myorg/*"
//	HUB_PINS            comma-separated ID@REVISION: the revision each of those ids loads at
//	HUB_REVISION        revision of the other ids when a request names none (default main)
//	HF_ENDPOINT         the hub (default https://huggingface.co), as the Python libraries read it
//	HF_TOKEN            sent as Authorization: Bearer to the endpoint's host only (a secret)
//	HUB_MAX_ADAPTER_MB  megabytes of one adapter's files (default 32)
//	HUB_AH_URL          the AdapterHub index for "ah:" ids (default hub.DefaultAdapterHubURL)
//	HUB_AH_MODEL        the base model's name in that index (default: the base model's name)
func HubFromEnv(getenv func(string) string) (*HubConfig, error) {
	list := func(name string) []string {
		var out []string
		for _, p := range strings.Split(getenv(name), ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	sources := list("HUB_SOURCES")
	if len(sources) == 0 {
		return nil, nil
	}
	for _, s := range sources {
		if s != "hf" && s != "ah" {
			return nil, fmt.Errorf("HUB_SOURCES: source %q: want hf or ah", s)
		}
	}
	c := &HubConfig{Sources: sources, Allow: list("HUB_ALLOW"), Pins: map[string]string{}, Revision: getenv("HUB_REVISION"),
		AdapterHubURL: getenv("HUB_AH_URL"), AHModelName: getenv("HUB_AH_MODEL")}
	if c.AHModelName != "" && !hub.IsID(c.AHModelName) {
		return nil, fmt.Errorf("HUB_AH_MODEL: %q: want a model id such as bert-base-uncased or owner/name", c.AHModelName)
	}
	for _, p := range c.Allow {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("HUB_ALLOW: pattern %q: %v", p, err)
		}
	}
	for _, p := range list("HUB_PINS") {
		id, rev, ok := strings.Cut(p, "@")
		if !ok || !hub.IsID(id) || rev == "" {
			return nil, fmt.Errorf("HUB_PINS: %q: want OWNER/NAME@REVISION", p)
		}
		c.Pins[id] = rev
	}
	if mb := getenv("HUB_MAX_ADAPTER_MB"); mb != "" {
		n, err := strconv.Atoi(mb)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("HUB_MAX_ADAPTER_MB=%q: want a positive integer", mb)
		}
		c.MaxAdapterBytes = int64(n) << 20
	}
	c.Client = &hub.Client{Endpoint: getenv("HF_ENDPOINT"), Token: getenv("HF_TOKEN")}
	return c, nil
}

// hubRef is a setup name that names a hub adapter.
type hubRef struct {
	name     string // as written in the setup: the name it loads under
	source   string // "hf" or "ah"
	id       string // "ah": the AdapterHub identifier, until fetchHub resolves it
	revision string // as the request gave it, "" if none
}

// parseHubRef reads name as a hub reference: "hf:ID[@REV]", "OWNER/NAME[@REV]", or
// "ah:IDENTIFIER" (whose '@' names an org, not a revision).
func parseHubRef(name string) (hubRef, bool) {
	r := hubRef{name: name}
	rest := name
	if src, after, ok := strings.Cut(name, ":"); ok {
		r.source, rest = src, after
	} else if strings.Contains(name, "/") {
		r.source = "hf"
	} else {
		return r, false
	}
	if r.source == "ah" {
		r.id = rest
		return r, true
	}
	r.id, r.revision, _ = strings.Cut(rest, "@") // ids have no '@'; revisions may have '/'
	return r, true
}

// checkHubRef refuses a reference the configuration does not allow (403), or a malformed one (400).
func (h *HubConfig) checkHubRef(r *hubRef) *Error {
	if h == nil {
		return apiErrorf(http.StatusForbidden, CodeNotAllowed, "adapter %s: not in the index, and this Worker takes no hub ids (HUB_SOURCES is not set)", clip(r.name))
	}
	switch r.source {
	case "hf":
		if !hub.IsID(r.id) {
			return apiErrorf(http.StatusBadRequest, CodeInvalidSetup, "adapter %s: not a hub id (want OWNER/NAME[@REVISION])", clip(r.name))
		}
	case "ah":
		if strings.TrimSpace(r.id) == "" || len(r.id) > maxAHIdentifier {
			return apiErrorf(http.StatusBadRequest, CodeInvalidSetup, "adapter %s: want an AdapterHub identifier such as ah:sentiment/imdb@ukp (at most %d bytes)", clip(r.name), maxAHIdentifier)
		}
	default:
		return apiErrorf(http.StatusBadRequest, CodeInvalidSetup, "adapter %s: unknown source %q (want hf:OWNER/NAME[@REVISION] or ah:IDENTIFIER)", clip(r.name), clip(r.source))
	}
	enabled := false
	for _, s := range h.Sources {
		enabled = enabled || s == r.source
	}
	if !enabled {
		return apiErrorf(http.StatusForbidden, CodeNotAllowed, "adapter %s: source %s is not enabled here (HUB_SOURCES)", clip(r.name), r.source)
	}
	if r.source == "ah" {
		return nil // Allow and Pins apply to the repository it resolves to (fetchHub)
	}
	allowed := false
	for _, p := range h.Allow {
		if ok, _ := path.Match(p, r.id); ok {
			allowed = true
			break
		}
	}
	if !allowed {
		return apiErrorf(http.StatusForbidden, CodeNotAllowed, "adapter %s: id %s is not allowed here (HUB_ALLOW)", clip(r.name), clip(r.id))
	}
	if pin, ok := h.Pins[r.id]; ok {
		if r.revision != "" && r.revision != pin {
			return apiErrorf(http.StatusForbidden, CodeNotAllowed, "adapter %s: %s is pinned to revision %s here (HUB_PINS)", clip(r.name), r.id, clip(pin))
		}
		r.revision = pin
	}
	if r.revision == "" {
		r.revision = h.Revision
	}
	return nil
}

// fetchHub reads a hub adapter's files into memory; an "ah:" identifier is resolved first.
func (s *Service) fetchHub(ctx context.Context, r hubRef) (map[string][]byte, error) {
	if r.source == "ah" {
		repo, e := s.resolveAH(ctx, r)
		if e != nil {
			return nil, e
		}
		r = hubRef{name: r.name, source: "hf", id: repo}
		if e := s.cfg.Hub.checkHubRef(&r); e != nil {
			return nil, e
		}
	}
	limit := s.cfg.Hub.MaxAdapterBytes
	if limit <= 0 {
		limit = DefaultMaxHubAdapterBytes
	}
	_, files, err := s.cfg.Hub.Client.FetchBytes(ctx, r.id, r.revision, hub.AdapterFiles, limit)
	if err != nil {
		return nil, err
	}
	s.bump(func(st *Stats) { st.HubFetches++ })
	return files, nil
}

// resolveAH resolves an "ah:" identifier on the base model's AdapterHub index (not read for
// "@org/file") to its repository, "AdapterHub/<file>".
func (s *Service) resolveAH(ctx context.Context, r hubRef) (string, *Error) {
	h := s.cfg.Hub
	modelName := h.AHModelName
	if modelName == "" {
		m, e := s.model(ctx)
		if e != nil {
			return "", e
		}
		info, err := m.Info()
		if err != nil {
			return "", fromEngine(err)
		}
		modelName = info.Name
	}
	if !hub.IsID(modelName) {
		return "", apiErrorf(http.StatusForbidden, CodeNotAllowed, "adapter %s: the base model's name %q is no hub id, so this Worker has no AdapterHub index to read (HUB_AH_MODEL)", clip(r.name), clip(modelName))
	}
	var index []byte
	if adapters.AdapterHubNeedsIndex(r.id) {
		l := &hub.Lister{Client: h.Client, AdapterHubURL: h.AdapterHubURL}
		var err error
		if index, err = l.AdapterHubIndex(ctx, modelName, MaxAHIndexBytes); err != nil {
			return "", fromHub(r.name, err)
		}
	}
	repo, err := adapters.ResolveAdapterHub(index, r.id, modelName, "", false)
	switch {
	case err == nil:
		return repo, nil
	case errors.Is(err, adapters.ErrAHNotFound):
		return "", apiErrorf(http.StatusNotFound, CodeUnknownAdapter, "adapter %s: %v", clip(r.name), err)
	case errors.Is(err, adapters.ErrAHAmbiguous):
		return "", apiErrorf(http.StatusBadRequest, CodeInvalidSetup, "adapter %s: %v", clip(r.name), err)
	}
	return "", apiErrorf(http.StatusBadGateway, CodeHubUnavailable, "adapter %s: %v", clip(r.name), err) // a malformed index
}

// fromHub maps a hub error to an API error: the hub's own answer, in the Worker's words. An API
// error (a refusal met on the way, fetchHub) passes unchanged.
func fromHub(name string, err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	msg := fmt.Sprintf("adapter %s: %v", clip(name), err)
	switch {
	case errors.Is(err, hub.ErrNotFound):
		return apiErrorf(http.StatusNotFound, CodeUnknownAdapter, "%s", msg)
	case errors.Is(err, hub.ErrGated):
		return apiErrorf(http.StatusForbidden, CodeHubUnauthorized, "%s", msg)
	case errors.Is(err, hub.ErrRateLimited):
		e := apiErrorf(http.StatusServiceUnavailable, CodeHubRateLimited, "%s", msg)
		var he *hub.Error
		if errors.As(err, &he) && he.RetryAfter > 0 {
			e.RetryAfter = int((he.RetryAfter + time.Second - 1) / time.Second)
		}
		return e
	case errors.Is(err, hub.ErrBadID):
		return apiErrorf(http.StatusBadRequest, CodeInvalidSetup, "%s", msg)
	case errors.Is(err, hub.ErrNetwork), errors.Is(err, hub.ErrTruncated), errors.Is(err, hub.ErrProtocol):
		return apiErrorf(http.StatusBadGateway, CodeHubUnavailable, "%s", msg)
	}
	return apiErrorf(http.StatusBadGateway, CodeAdapterLoad, "%s", msg) // too large, or the engine's
}
