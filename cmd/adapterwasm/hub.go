package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/adapterwasm/adapterwasm/hub"
)

// hubFlags are the flags of every command that takes a model or adapter as a directory or a
// hub id: a local path that exists wins; otherwise "name" or "owner/name" is fetched from the
// hub (package hub) into the cache and the cached snapshot directory is used.
type hubFlags struct {
	revision, endpoint, cache *string
	offline, quiet            *bool
	stderr                    io.Writer
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
	s, err := h.client().Fetch(context.Background(), id, rev, files)
	if err != nil {
		return "", nil, fmt.Errorf("--%s %s: no such directory; as a hub id: %w", flagName, spec, err)
	}
	how := "downloaded"
	if s.FromCache {
		how = "from the cache"
	}
	if !*h.quiet {
		fmt.Fprintf(h.stderr, "%s %s@%s: commit %s (%s)\n", flagName, id, s.Revision, s.Commit, how)
	}
	return s.Dir, s, nil
}

func (h *hubFlags) model(spec string) (string, error) {
	dir, _, err := h.resolve("model", spec, *h.revision, hub.BaseModelFiles)
	return dir, err
}

// adapter resolves an --adapter value, [NAME=]DIR or [NAME=]ID[@REVISION], keeping NAME=.
func (h *hubFlags) adapter(spec string) (string, error) {
	name, dir := "", spec
	if i := strings.IndexByte(spec, '='); i > 0 {
		name, dir = spec[:i+1], spec[i+1:]
	}
	got, _, err := h.resolve("adapter", dir, "", hub.AdapterFiles)
	if err != nil {
		return "", err
	}
	return name + got, nil
}
