package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// exchange is one request and its answer as plain bytes, the way the JS entry
// (workers/src/worker.mjs) hands them to Go and takes them back: the entry reads the request body
// itself (at most maxBody+1 bytes, then cancels the rest), and builds the Response from the
// answer's bytes. Nothing of it is a JS stream, so a request leaves no callback behind in Go
// (syumai/workers v0.33.0 makes two js.FuncOf per response body stream and never releases them).
type exchange struct {
	Method  string
	URL     string
	Header  [][2]string // in order, as the Headers object iterates them (lower-case names)
	Body    []byte      // nil: no body
	HasBody bool        // the request had a body (possibly cut at maxBody+1, or not read at all)
}

// answer is what Go hands back: the status, the headers and the whole body.
type answer struct {
	Status int
	Header [][2]string
	Body   []byte
}

// serveExchange runs h on ex and returns its whole answer. It never panics: a panic (in h, or
// an unparsable URL) is a JSON 500.
func serveExchange(h http.Handler, ex exchange) (a answer) {
	defer func() {
		if v := recover(); v != nil {
			a = internalError(fmt.Sprintf("internal error (recovered panic): %v", v))
		}
	}()
	u, err := url.Parse(ex.URL)
	if err != nil {
		return internalError("the request URL does not parse")
	}
	header := http.Header{}
	for _, kv := range ex.Header {
		header.Add(kv[0], kv[1])
	}
	r := &http.Request{Method: ex.Method, URL: u, Header: header, Host: u.Host, RequestURI: u.RequestURI(), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
	if ex.HasBody {
		r.Body = http.NoBody
		if len(ex.Body) > 0 {
			r.Body = readCloser{bytes.NewReader(ex.Body)}
		}
		r.ContentLength = -1 // unknown unless the client said
		if cl, err := strconv.ParseInt(header.Get("Content-Length"), 10, 64); err == nil && cl >= 0 {
			r.ContentLength = cl
		}
	}
	w := &recorder{header: http.Header{}}
	h.ServeHTTP(w, r)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	a = answer{Status: w.status, Body: w.body.Bytes()}
	for k, vs := range w.header {
		for _, v := range vs {
			a.Header = append(a.Header, [2]string{k, v})
		}
	}
	return a
}

func internalError(msg string) answer {
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": "internal", "message": msg}})
	return answer{
		Status: http.StatusInternalServerError,
		Header: [][2]string{{"Content-Type", "application/json; charset=utf-8"}, {"Cache-Control", "no-store"}},
		Body:   append(b, '\n'),
	}
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// recorder is an http.ResponseWriter that keeps the whole answer in memory: the answers are small
// JSON documents.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}
