package hub

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Kinds of failure, matched with errors.Is on an *Error.
var (
	// ErrNotFound: the repository, revision or file does not exist (404; or 401 without a
	// token, which the hub answers for missing and private repos alike, as huggingface_hub's
	// hf_raise_for_status reads it).
	ErrNotFound = errors.New("not found")
	// ErrGated: the repository exists but this client may not read it (gated, private, or a
	// token without access): 403, or 401 with X-Error-Code GatedRepo or a token sent.
	ErrGated = errors.New("access denied (gated or private repository; set HF_TOKEN)")
	// ErrRateLimited: 429; Error.RetryAfter holds the server's Retry-After if it sent one.
	ErrRateLimited = errors.New("rate limited")
	// ErrNetwork: the endpoint could not be reached (DNS, connection, TLS, a cut body).
	ErrNetwork = errors.New("network error")
	// ErrTooLarge: the declared or received size is over Client.MaxBytes.
	ErrTooLarge = errors.New("file too large")
	// ErrTruncated: fewer (or more) bytes arrived than the response announced.
	ErrTruncated = errors.New("download cut short")
	// ErrProtocol: an answer that is not the hub's (no X-Repo-Commit, a bad redirect,
	// an unexpected status, a listing that is not JSON).
	ErrProtocol = errors.New("unexpected answer")
	// ErrNotCached: offline, and this id/revision was never fetched.
	ErrNotCached = errors.New("not in the cache (offline)")
	// ErrBadID: not a hub id ("name" or "owner/name").
	ErrBadID = errors.New("not a hub id")
)

// Error is a failed hub operation on one repository (and file).
type Error struct {
	Repo       string // id as given
	Revision   string
	File       string        // "" for the repository as a whole
	Status     int           // HTTP status, 0 if none
	RetryAfter time.Duration // for ErrRateLimited, 0 if not sent
	Kind       error         // one of the Err* values above
	Detail     string        // extra words (server message, byte counts), short
}

func (e *Error) Error() string {
	s := "hub: " + clip(e.Repo)
	if e.Revision != "" {
		s += "@" + clip(e.Revision)
	}
	if e.File != "" {
		s += ": " + e.File
	}
	s += ": " + e.Kind.Error()
	if e.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(", retry after %s", e.RetryAfter)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

func (e *Error) Unwrap() error { return e.Kind }

// clip cuts echoed input to a short prefix.
func clip(s string) string {
	const max = 120
	if len(s) > max {
		i := max
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		return s[:i] + "…"
	}
	return s
}
