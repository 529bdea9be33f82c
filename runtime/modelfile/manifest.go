package modelfile

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/adapterwasm/adapterwasm/internal/jsonin"
)

// Manifest is manifest.json, written beside the model file: what the JS shim (js/src/registry.js,
// baseFiles) needs to fetch, verify and cache the model without parsing it: a list of files with
// size and sha256. The hash covers the whole file, header included, so any flipped bit is
// caught; Integrity is the same hash in Subresource Integrity form, for fetch(url, {integrity}).
type Manifest struct {
	Format  string `json:"format"` // "adapterwasm"
	Version int    `json:"version"`
	DType   DType  `json:"dtype"`
	Source  string `json:"source,omitempty"`
	// Revision is the hub commit the model was converted from (convert --in ID), if it was.
	Revision string         `json:"revision,omitempty"`
	Files    []ManifestFile `json:"files"` // exactly one: FileName
}

// ManifestFile is one file of a manifest.
type ManifestFile struct {
	Name      string `json:"name"`      // relative to the manifest
	Size      int64  `json:"size"`      // bytes
	SHA256    string `json:"sha256"`    // lowercase hex
	Integrity string `json:"integrity"` // "sha256-" + base64
}

// NewManifest describes the model file b.
func NewManifest(b []byte, dtype DType, source string) Manifest {
	sum := sha256.Sum256(b)
	return Manifest{
		Format: magicKey, Version: Version, DType: dtype, Source: source,
		Files: []ManifestFile{{
			Name: FileName, Size: int64(len(b)), SHA256: hex.EncodeToString(sum[:]),
			Integrity: "sha256-" + base64.StdEncoding.EncodeToString(sum[:]),
		}},
	}
}

// ParseManifest decodes manifest.json and checks its format and version.
func ParseManifest(b []byte) (Manifest, error) {
	var m Manifest
	if err := jsonin.CheckDepth(b, jsonin.MaxDepth); err != nil {
		return Manifest{}, &FormatError{Reason: "manifest.json", Err: err}
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, &FormatError{Reason: "manifest.json", Err: errors.New(jsonin.Describe(err))}
	}
	if m.Format != magicKey {
		return Manifest{}, &FormatError{Reason: fmt.Sprintf("manifest.json: format %q, want %q", m.Format, magicKey)}
	}
	if m.Version != Version {
		return Manifest{}, &VersionError{Version: fmt.Sprint(m.Version)}
	}
	if len(m.Files) != 1 || m.Files[0].Name != FileName || len(m.Files[0].SHA256) != 64 || m.Files[0].Size < 0 {
		return Manifest{}, &FormatError{Reason: "manifest.json: want one file " + FileName + " with size and sha256"}
	}
	return m, nil
}

// ChecksumError reports a model file whose size or sha256 differs from its manifest.
type ChecksumError struct {
	File      string
	Want, Got string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("modelfile: %s: content does not match manifest.json (%s, got %s): corrupted or partial download", e.File, e.Want, e.Got)
}

// Check verifies that b is the model file the manifest (from ParseManifest) describes.
func (m Manifest) Check(b []byte) error {
	f := m.Files[0]
	if int64(len(b)) != f.Size {
		return &ChecksumError{File: f.Name, Want: fmt.Sprintf("%d bytes", f.Size), Got: fmt.Sprintf("%d bytes", len(b))}
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != f.SHA256 {
		return &ChecksumError{File: f.Name, Want: "sha256 " + f.SHA256, Got: "sha256 " + got}
	}
	return nil
}
