package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/adapterwasm/adapterwasm/adapters"
	"github.com/adapterwasm/adapterwasm/hub"
	"github.com/adapterwasm/adapterwasm/runtime/modelfile"
)

// hubFlags are the flags of every command that takes a model or adapter as a directory or a
// hub id: a local path that exists wins; otherwise "name" or "owner/name" is fetched from the
// hub (package hub) into the cache and the cached snapshot directory is used.
type hubFlags struct {
	revision, endpoint, cache *string
	offline, quiet            *bool
	stderr                    io.Writer
	modelID                   string // the --model value's hub id, once resolved as one
	modelDir                  string // the --model directory, once resolved
	ah                        *ahFlags
}

// ahFlags say how "ah:" adapter ids (AdapterHub identifiers) resolve: as the adapters library's
// pull_from_hub does (adapters.ResolveAdapterHub) on the base model's AdapterHub index.
type ahFlags struct {
	url, modelName, config *string
	strict                 *bool
}

// addAHFlags adds the flags of AdapterHub ids (classify).
func (h *hubFlags) addAHFlags(fs *flag.FlagSet) {
	h.ah = &ahFlags{
		url:       fs.String("ah-url", "", "AdapterHub index base URL for ah: ids (default "+hub.DefaultAdapterHubURL+")"),
		modelName: fs.String("ah-model-name", "", "the base model's name in the AdapterHub index for ah: ids, e.g. bert-base-uncased (default: --model when it is a hub id, else a converted directory's manifest source)"),
		config:    fs.String("ah-config", "", `ah: ids: the adapter config string whose entry to prefer, e.g. "pfeiffer" (pull_from_hub's adapter_config)`),
		strict:    fs.Bool("ah-strict", false, "ah: ids: only an entry of --ah-config, no default (pull_from_hub's strict)"),
	}
}

func addHubFlags(fs *flag.FlagSet, stderr io.Writer) *hubFlags {
	h := addHubSourceFlags(fs, stderr)
	h.revision = fs.String("revision", "", "hub revision of the model when given as an id: branch, tag or commit (default main); adapters take ID@REVISION")
	h.quiet = fs.Bool("quiet", false, "no download progress on stderr")
	return h
}

// addHubSourceFlags adds only the flags that say where the hub is (for list).
func addHubSourceFlags(fs *flag.FlagSet, stderr io.Writer) *hubFlags {
	return &hubFlags{
		revision: new(string),
		quiet:    new(bool),
		endpoint: fs.String("endpoint", "", "hub endpoint (default $HF_ENDPOINT, else "+hub.DefaultEndpoint+")"),
		cache:    fs.String("cache", "", "cache directory for hub downloads and listings (default $ADAPTERWASM_CACHE, else the user cache dir)"),
		offline:  fs.Bool("offline", false, "use the cache only (also $HF_HUB_OFFLINE=1)"),
		stderr:   stderr,
	}
}

func (h *hubFlags) client() *hub.Client {
	c := hub.FromEnv()
	if *h.endpoint != "" {
		c.Endpoint = *h.endpoint
	}
	if *h.cache != "" {
		c.CacheDir = *h.cache
	}
	if *h.offline {
		c.Offline = true
	}
	if !*h.quiet {
		c.Progress = progressPrinter(h.stderr)
	}
	return c
}

// resolve returns the directory for spec (a --model or --adapter value): spec itself if it
// exists on disk or cannot be a hub id (snapshot nil), else the snapshot of the hub id
// spec[@revision] holding files.
func (h *hubFlags) resolve(flagName, spec, rev string, files []hub.File) (string, *hub.Snapshot, error) {
	if _, err := os.Stat(spec); err == nil {
		return spec, nil, nil
	}
	id := spec
	if i := strings.LastIndexByte(spec, '@'); i > 0 && rev == "" {
		id, rev = spec[:i], spec[i+1:]
	}
	if !hub.IsID(id) {
		return spec, nil, nil // a path after all: the loader says what is missing, as before ids
	}
	s, err := h.fetch(flagName, id, rev, files)
	if err != nil {
		return "", nil, fmt.Errorf("--%s %s: no such directory; as a hub id: %w", flagName, spec, err)
	}
	return s.Dir, s, nil
}

// fetch fetches hub id at rev (files) and says on stderr which commit it loaded.
func (h *hubFlags) fetch(flagName, id, rev string, files []hub.File) (*hub.Snapshot, error) {
	s, err := h.client().Fetch(context.Background(), id, rev, files)
	if err != nil {
		return nil, err
	}
	how := "downloaded"
	if s.FromCache {
		how = "from the cache"
	}
	if !*h.quiet {
		fmt.Fprintf(h.stderr, "%s %s@%s: commit %s (%s)\n", flagName, id, s.Revision, s.Commit, how)
	}
	return s, nil
}

func (h *hubFlags) model(spec string) (string, error) {
	dir, s, err := h.resolve("model", spec, *h.revision, hub.BaseModelFiles)
	if s != nil {
		h.modelID = s.ID
	}
	h.modelDir = dir
	return dir, err
}

// maxAHIdentifier bounds an ah: id (the JS package's bound).
const maxAHIdentifier = 512

// adapter resolves an --adapter value, keeping NAME=: [NAME=]DIR, [NAME=]ID[@REVISION] (a hub id
// if no such path exists), [NAME=]hf:ID[@REVISION] (a hub id, whatever exists on disk), or
// [NAME=]ah:IDENTIFIER, an AdapterHub identifier ("sentiment/imdb@ukp", "@ukp/file") resolved on
// the base model's AdapterHub index to the repository AdapterHub/<file>, fetched from the hub.
func (h *hubFlags) adapter(spec string) (string, error) {
	name, dir := "", spec
	if i := strings.IndexByte(spec, '='); i > 0 {
		name, dir = spec[:i+1], spec[i+1:]
	}
	switch {
	case strings.HasPrefix(dir, "ah:"):
		got, err := h.ahAdapter(strings.TrimPrefix(dir, "ah:"))
		if err != nil {
			return "", err
		}
		return name + got, nil
	case strings.HasPrefix(dir, "hf:"):
		id, rev, _ := strings.Cut(strings.TrimPrefix(dir, "hf:"), "@")
		if !hub.IsID(id) {
			return "", &usageError{msg: fmt.Sprintf("--adapter %s: not a hub id (want hf:OWNER/NAME[@REVISION])", clipArg(dir))}
		}
		s, err := h.fetch("adapter", id, rev, hub.AdapterFiles)
		if err != nil {
			return "", fmt.Errorf("--adapter %s: %w", dir, err)
		}
		return name + s.Dir, nil
	}
	got, _, err := h.resolve("adapter", dir, "", hub.AdapterFiles)
	if err != nil {
		return "", err
	}
	return name + got, nil
}

// ahAdapter resolves an AdapterHub identifier as pull_from_hub(identifier, model_name,
// adapter_config, strict) does and fetches the repository it names.
func (h *hubFlags) ahAdapter(identifier string) (string, error) {
	shown := "ah:" + clipArg(identifier)
	if strings.TrimSpace(identifier) == "" || len(identifier) > maxAHIdentifier {
		return "", &usageError{msg: fmt.Sprintf("--adapter %s: want an AdapterHub identifier such as ah:sentiment/imdb@ukp (at most %d bytes)", shown, maxAHIdentifier)}
	}
	var o ahFlags
	if h.ah != nil {
		o = *h.ah
	}
	modelName := h.modelID
	if o.modelName != nil && *o.modelName != "" {
		modelName = *o.modelName
	}
	if modelName == "" && h.modelDir != "" {
		// A converted base names its source (convert --name, or the hub id it came from).
		if b, err := os.ReadFile(filepath.Join(h.modelDir, modelfile.ManifestName)); err == nil {
			if man, err := modelfile.ParseManifest(b); err == nil && hub.IsID(man.Source) {
				modelName = man.Source
			}
		}
	}
	if modelName == "" {
		return "", &usageError{msg: fmt.Sprintf("--adapter %s: the AdapterHub index is per base model: pass --ah-model-name (e.g. bert-base-uncased), or --model as a hub id or a converted directory whose manifest names its source", shown)}
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	var index []byte
	if adapters.AdapterHubNeedsIndex(identifier) {
		l := &hub.Lister{Client: h.client(), AdapterHubURL: str(o.url)}
		var err error
		if index, err = l.AdapterHubIndex(context.Background(), modelName, 0); err != nil {
			return "", fmt.Errorf("--adapter %s: %w", shown, err)
		}
	}
	repo, err := adapters.ResolveAdapterHub(index, identifier, modelName, str(o.config), o.strict != nil && *o.strict)
	if err != nil {
		return "", fmt.Errorf("--adapter %s: %w", shown, err)
	}
	if !*h.quiet {
		fmt.Fprintf(h.stderr, "adapter %s: %s in the AdapterHub index of %s\n", shown, repo, modelName)
	}
	s, err := h.fetch("adapter", repo, "", hub.AdapterFiles)
	if err != nil {
		return "", fmt.Errorf("--adapter %s: %w", shown, err)
	}
	return s.Dir, nil
}

// clipArg cuts a command-line value echoed in an error to 120 bytes (at a rune boundary).
func clipArg(s string) string {
	if len(s) <= 120 {
		return s
	}
	n := 120
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
