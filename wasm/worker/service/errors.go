package service

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/adapterwasm/adapterwasm/wasm/engine"
)

// Error is an API error: the HTTP status and the body {"error": {"code", "message"}}.
type Error struct {
	Status     int    `json:"-"`
	Code       string `json:"code"`
	Message    string `json:"message"`
	RetryAfter int    `json:"-"` // seconds, sent as Retry-After when > 0
}

func (e *Error) Error() string { return e.Message }

// Codes of API errors, stable for clients to branch on.
const (
	CodeInvalidJSON      = "invalid_json"        // 400: the body is not one JSON object
	CodeInvalidRequest   = "invalid_request"     // 400: fields missing, of the wrong type, or unknown
	CodeInvalidSetup     = "invalid_setup"       // 400: the adapters expression does not parse or cannot run
	CodeBodyTooLarge     = "body_too_large"      // 413
	CodeTextTooLarge     = "text_too_large"      // 413: one text over MaxTextBytes
	CodeTooManyTexts     = "too_many_texts"      // 413
	CodeTooManyTokens    = "too_many_tokens"     // 413: the texts' tokens (after truncation) over MaxTokens
	CodeUnknownAdapter   = "unknown_adapter"     // 404: not in the index (or, by hub id, not on the hub)
	CodeNotAllowed       = "adapter_not_allowed" // 403: a hub id this Worker does not take (HubConfig)
	CodeHubUnauthorized  = "hub_unauthorized"    // 403: the hub refused the Worker's token (gated or private, 401/403)
	CodeHubRateLimited   = "hub_rate_limited"    // 503 with Retry-After: the hub answered 429
	CodeHubUnavailable   = "hub_unavailable"     // 502: the hub could not be reached, or answered as no hub does
	CodeNotFound         = "not_found"           // 404: no such route
	CodeMethodNotAllowed = "method_not_allowed"  // 405
	CodeUnsupportedMedia = "unsupported_media"   // 415: a body that is not application/json
	CodeUnavailable      = "unavailable"         // 503: the base model or the index cannot be loaded
	CodeAdapterLoad      = "adapter_load_failed" // 502: an adapter's files are missing or malformed
	CodeInternal         = "internal"            // 500: a bug (a recovered panic)
)

// An error message repeats at most maxEcho bytes of any one thing the client sent (clip). As the
// engine's and the setup parser's errors quote names and setups whole, writeError also cuts every
// word (a run without spaces) of a message to maxWord bytes, and the message to maxMessage.
const (
	maxEcho    = 64
	maxWord    = 128 // over a sha256 in hex, a file path, or a clipped value in quotes
	maxMessage = 1024
)

// clip returns s if it is at most maxEcho bytes, else its first maxEcho bytes (at a rune boundary)
// and how long it was: what an error message echoes of the client's input.
func clip(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	return fmt.Sprintf("%s… (%d bytes)", cutRunes(s, maxEcho), len(s))
}

// cutRunes returns the longest prefix of s of at most n bytes that does not split a rune.
func cutRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func apiErrorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// fromEngine maps an engine error met while classifying to an API error.
func fromEngine(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	switch engine.CodeOf(err) {
	case engine.CodeInvalidArgument:
		return apiErrorf(http.StatusBadRequest, CodeInvalidRequest, "%v", err)
	case engine.CodeSetup:
		return apiErrorf(http.StatusBadRequest, CodeInvalidSetup, "%v", err)
	case engine.CodeNotFound:
		return apiErrorf(http.StatusNotFound, CodeUnknownAdapter, "%v", err)
	case engine.CodeFormat, engine.CodeUnsupported, engine.CodeMissingFile:
		return apiErrorf(http.StatusBadGateway, CodeAdapterLoad, "%v", err)
	}
	return apiErrorf(http.StatusInternalServerError, CodeInternal, "%v", err)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"cannot encode the response"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// clipWords cuts each word of msg (a run of bytes other than space, tab and newline) longer than
// maxWord bytes to its first maxEcho bytes and "…".
func clipWords(msg string) string {
	var b strings.Builder
	for len(msg) > 0 {
		i := strings.IndexAny(msg, " \t\n")
		if i < 0 {
			i = len(msg)
		}
		if word := msg[:i]; len(word) > maxWord {
			if b.Len() == 0 {
				b.Grow(min(len(msg), maxMessage))
			}
			b.WriteString(cutRunes(word, maxEcho))
			b.WriteString("…")
		} else {
			b.WriteString(word)
		}
		if i < len(msg) {
			b.WriteByte(msg[i])
			i++
		}
		msg = msg[i:]
	}
	return b.String()
}

func writeError(w http.ResponseWriter, e *Error) {
	if msg := clipWords(e.Message); len(msg) > maxMessage {
		e = &Error{Status: e.Status, Code: e.Code, Message: cutRunes(msg, maxMessage-len("… (cut)")) + "… (cut)", RetryAfter: e.RetryAfter}
	} else if msg != e.Message {
		e = &Error{Status: e.Status, Code: e.Code, Message: msg, RetryAfter: e.RetryAfter}
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	writeJSON(w, e.Status, map[string]*Error{"error": e})
}
