package adapters

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/adapterwasm/adapterwasm/internal/jsonin"
)

// AdapterHub ("ah") identifiers, as the adapters library resolves them since the archived
// AdapterHub index moved to the Hugging Face hub (adapters 1.3.0 utils.py: pull_from_hub,
// find_in_index, _split_identifier, _dict_extract, _get_matching_version). An identifier
// "task/subtask@org" is looked up in the index of the base model,
// `{AdapterHubURL}index/{model_name}.json`, laid out as the archived Hub's scripts/generate.py
// writes it:
//
//	{task: {subtask: {config_hash: {"versions": {org: "adapters/org/file.json"}, "default"?: path},
//	                  "default": path}}}
//
// and the entry found names the repository the files are fetched from: "AdapterHub/" + the
// entry's file name up to its first dot. "@org/file" names the entry directly. The test cases
// (testdata/hub/ah) are the library's own answers (tools/reference/make_ah_cases.py).

// AdapterHubURL is the archived index (utils.py ADAPTER_HUB_URL).
const AdapterHubURL = "https://raw.githubusercontent.com/Adapter-Hub/Hub/master/dist/v2/"

// Kinds of AdapterHubError, matched with errors.Is.
var (
	// ErrAHNotFound: no entry for the identifier (pull_from_hub's EnvironmentError "No adapter with
	// name … was found in the adapter index", and find_in_index's "No adapter … found for the
	// current model or configuration").
	ErrAHNotFound = errors.New("no such adapter in the AdapterHub index")
	// ErrAHAmbiguous: several entries match and nothing chooses one (find_in_index's "Found multiple
	// possible adapters", _get_matching_version's "Multiple adapters with this name").
	ErrAHAmbiguous = errors.New("several adapters in the AdapterHub index match")
	// ErrAHConfig: the config string names no configuration (AdapterConfig.load's ValueError).
	ErrAHConfig = errors.New("unknown adapter config")
	// ErrAHIndex: the index is not JSON of the index's layout.
	ErrAHIndex = errors.New("malformed AdapterHub index")
)

// AdapterHubError is a failed resolution of one identifier.
type AdapterHubError struct {
	Identifier string
	ModelName  string
	Kind       error
	Detail     string
}

func (e *AdapterHubError) Error() string {
	s := fmt.Sprintf("adapterhub: %s", quoteEcho(e.Identifier))
	if e.ModelName != "" {
		s += " for " + quoteEcho(e.ModelName)
	}
	s += ": " + e.Kind.Error()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *AdapterHubError) Unwrap() error { return e.Kind }

var ahDirect = regexp.MustCompile(`^@(\S+)/(\S+)`)

// AdapterHubIndexURL is the index file of a base model: `{base}index/{model_name}.json`
// (ADAPTER_HUB_INDEX_FILE); base "" is AdapterHubURL.
func AdapterHubIndexURL(base, modelName string) string {
	if base == "" {
		base = AdapterHubURL
	}
	return strings.TrimRight(base, "/") + "/index/" + modelName + ".json"
}

// AdapterHubNeedsIndex reports whether resolving identifier reads the model's index: every form
// but "@org/file".
func AdapterHubNeedsIndex(identifier string) bool {
	return !ahDirect.MatchString(strings.TrimSpace(identifier))
}

// ConfigStringHash is the config id of a config string ("pfeiffer", "lora[r=4]", "seq_bn|lora"):
// get_adapter_config_hash of the configuration the library resolves it to.
func ConfigStringHash(config string) (string, error) {
	m, err := resolveConfigString(config)
	if err != nil {
		return "", err
	}
	return ConfigHash(m), nil
}

// ResolveAdapterHub returns the Hugging Face repository id of an AdapterHub identifier, as
// pull_from_hub(identifier, model_name, adapter_config=config, strict=strict) resolves it:
// index is the model's index file (unused for "@org/file"), config a config string or "" for none.
func ResolveAdapterHub(index []byte, identifier, modelName, config string, strict bool) (string, error) {
	fail := func(kind error, detail string) error {
		return &AdapterHubError{Identifier: identifier, ModelName: modelName, Kind: kind, Detail: detail}
	}
	configHash := ""
	if config != "" {
		h, err := ConfigStringHash(config)
		if err != nil {
			return "", fail(ErrAHConfig, err.Error())
		}
		configHash = h
	}
	id := strings.TrimSpace(identifier)
	var entry string
	if m := ahDirect.FindStringSubmatch(id); m != nil {
		entry = "adapters/" + m[1] + "/" + m[2] + ".json" // ADAPTER_HUB_ADAPTER_ENTRY_JSON
	} else {
		var idx map[string]any
		if err := jsonin.CheckDepth(index, jsonin.MaxDepth); err != nil {
			return "", fail(ErrAHIndex, err.Error())
		}
		if err := json.Unmarshal(index, &idx); err != nil {
			return "", fail(ErrAHIndex, jsonin.Describe(err))
		}
		var err error
		if entry, err = findInIndex(idx, id, configHash, strict); err != nil {
			return "", fail(err, "")
		}
		if entry == "" {
			return "", fail(ErrAHNotFound, "")
		}
	}
	// basename(entry).split(".")[0], with Python's basename (path.Base drops a trailing '/').
	name, _, _ := strings.Cut(entry[strings.LastIndexByte(entry, '/')+1:], ".")
	if !ahRepoName.MatchString(name) || strings.Contains(name, "..") {
		// The library would ask the hub for it and fail; here no request leaves for a name that is
		// not a repository's: an index entry's fault, or the identifier's ("@org/file").
		kind := ErrAHIndex
		if entry != "" && !AdapterHubNeedsIndex(id) {
			kind = ErrAHNotFound
		}
		return "", fail(kind, fmt.Sprintf("entry %s names no hub repository", quoteEcho(entry)))
	}
	return "AdapterHub/" + name, nil
}

// ahRepoName is the name part of a hub id (hub.IsID; adapters does not import hub).
var ahRepoName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$`)

// splitAHIdentifier is _split_identifier: "task/subtask@org" (only the first '/' and '@' parts
// count).
func splitAHIdentifier(id string) (task, subtask, org string) {
	parts := strings.Split(id, "@")
	if len(parts) > 1 {
		org = parts[1]
	}
	names := strings.Split(parts[0], "/")
	if len(names) > 1 {
		subtask = names[1]
	}
	return names[0], subtask, org
}

// findInIndex is find_in_index after the index is read: the entry's path, "" for None.
func findInIndex(idx map[string]any, id, configHash string, strict bool) (string, error) {
	task, subtask, org := splitAHIdentifier(id)
	// _dict_extract(index, task, subtask)
	var entries []map[string]any
	for k, v := range idx {
		vm, ok := v.(map[string]any)
		if !ok {
			return "", ErrAHIndex
		}
		switch {
		case k == task && subtask != "":
			if e, ok := vm[subtask]; ok {
				em, ok := e.(map[string]any)
				if !ok {
					return "", ErrAHIndex
				}
				entries = append(entries, em)
			}
		case k == task:
			for _, e := range vm {
				em, ok := e.(map[string]any)
				if !ok {
					return "", ErrAHIndex
				}
				entries = append(entries, em)
			}
		case subtask == "":
			if e, ok := vm[task]; ok {
				em, ok := e.(map[string]any)
				if !ok {
					return "", ErrAHIndex
				}
				entries = append(entries, em)
			}
		}
	}
	switch len(entries) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", ErrAHAmbiguous
	}
	entry := entries[0]
	if configHash != "" {
		if c, ok := entry[configHash]; ok {
			return matchingVersion(c, org)
		}
	}
	if configHash == "" || !strict {
		if d, ok := entry["default"]; ok {
			s, ok := d.(string)
			if !ok {
				return "", ErrAHIndex
			}
			return s, nil
		}
		if len(entry) == 1 {
			for _, c := range entry {
				return matchingVersion(c, org)
			}
		}
	}
	return "", ErrAHNotFound
}

// matchingVersion is _get_matching_version.
func matchingVersion(c any, org string) (string, error) {
	cm, ok := c.(map[string]any)
	if !ok {
		return "", ErrAHIndex
	}
	versions, ok := cm["versions"].(map[string]any)
	if !ok {
		return "", ErrAHIndex
	}
	str := func(v any) (string, error) {
		s, ok := v.(string)
		if !ok {
			return "", ErrAHIndex
		}
		return s, nil
	}
	switch {
	case org != "":
		v, ok := versions[org]
		if !ok {
			return "", nil
		}
		return str(v)
	case len(versions) == 1:
		for _, v := range versions {
			return str(v)
		}
	}
	if d, ok := cm["default"]; ok {
		return str(d)
	}
	return "", ErrAHAmbiguous
}
