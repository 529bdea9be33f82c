//go:build js && wasm

package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"syscall/js"
)

// fetchTransport is an http.RoundTripper over the Workers fetch API, for the hub client
// (service.HubConfig). Go's own js/wasm transport cannot be used: it passes fetch a
// `credentials` option, which workerd refuses. Redirects are "manual": workerd then returns the
// 3xx answer itself, so the hub client reads X-Repo-Commit and X-Linked-Size from the endpoint's
// own answer and follows the redirect to the CDN itself, without the token (hub.Client.get).
// Bodies are read chunk by chunk from the response stream, so the client's limits hold: reading
// stops at its limit and Close cancels the rest. Only requests without a body are made.
type fetchTransport struct{}

var (
	jsFetch           = js.Global().Get("fetch")
	jsArray           = js.Global().Get("Array")
	jsAbortController = js.Global().Get("AbortController")
)

func (fetchTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		req.Body.Close()
		return nil, errors.New("fetchTransport: request bodies are not supported")
	}
	init := jsObject.New()
	init.Set("method", req.Method)
	init.Set("redirect", "manual")
	headers := jsObject.New()
	for k, vs := range req.Header {
		headers.Set(k, strings.Join(vs, ", "))
	}
	init.Set("headers", headers)
	var abort js.Value
	if !jsAbortController.IsUndefined() {
		abort = jsAbortController.New()
		init.Set("signal", abort.Get("signal"))
	}
	done := make(chan struct{})
	defer close(done)
	go func() { // the request's context ends: abort the fetch (and its body)
		select {
		case <-req.Context().Done():
			if !abort.IsUndefined() {
				abort.Call("abort")
			}
		case <-done:
		}
	}()
	res, err := await(jsFetch.Invoke(req.URL.String(), init))
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	header := http.Header{}
	entries := jsArray.Call("from", res.Get("headers"))
	for i, n := 0, entries.Length(); i < n; i++ {
		kv := entries.Index(i)
		header.Add(kv.Index(0).String(), kv.Index(1).String())
	}
	length := int64(-1)
	if n, err := strconv.ParseInt(header.Get("Content-Length"), 10, 64); err == nil && n >= 0 {
		length = n
	}
	if header.Get("Content-Encoding") != "" { // fetch decoded it: the length is not the body's
		header.Del("Content-Encoding")
		header.Del("Content-Length")
		length = -1
	}
	status := res.Get("status").Int()
	var body io.ReadCloser = http.NoBody
	if b := res.Get("body"); !b.IsNull() && !b.IsUndefined() {
		body = &streamBody{reader: b.Call("getReader")}
	}
	return &http.Response{
		Status: fmt.Sprintf("%d %s", status, http.StatusText(status)), StatusCode: status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: header, ContentLength: length, Body: body, Request: req,
	}, nil
}

// streamBody reads a fetch response's ReadableStream one chunk at a time.
type streamBody struct {
	reader js.Value
	buf    []byte // the rest of the last chunk
	err    error
}

func (s *streamBody) Read(p []byte) (int, error) {
	for len(s.buf) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		r, err := await(s.reader.Call("read"))
		if err != nil {
			s.err = fmt.Errorf("fetch body: %w", err)
			return 0, s.err
		}
		if r.Get("done").Bool() {
			s.err = io.EOF
			return 0, io.EOF
		}
		v := r.Get("value")
		s.buf = make([]byte, v.Get("byteLength").Int())
		js.CopyBytesToGo(s.buf, v)
	}
	n := copy(p, s.buf)
	s.buf = s.buf[n:]
	return n, nil
}

func (s *streamBody) Close() error {
	if s.err == nil {
		s.err = errors.New("fetch body: closed")
		s.reader.Call("cancel") // best effort; the promise is not awaited
	}
	s.buf = nil
	return nil
}
