package hub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// FetchBytes is Fetch for hosts without a file system (the Cloudflare Worker): the files of id at
// rev ("" = main) are read into memory, nothing is written, and nothing is kept between calls.
// The protocol is Fetch's: the first file's X-Repo-Commit pins the commit and every later file is
// requested at that commit; the token goes to the endpoint's host only; answers become the same
// typed *Error values. MaxBytes bounds each file and maxTotal (> 0) the files together, each
// checked against the declared size before the body is read, so a hostile or oversized
// repository costs at most maxTotal bytes of memory. The returned snapshot has no Dir.
func (c *Client) FetchBytes(ctx context.Context, id, rev string, files []File, maxTotal int64) (*Snapshot, map[string][]byte, error) {
	if rev == "" {
		rev = "main"
	}
	if !IsID(id) {
		return nil, nil, &Error{Repo: id, Kind: ErrBadID, Detail: `want "name" or "owner/name"`}
	}
	if !validRevision(rev) {
		return nil, nil, &Error{Repo: id, Revision: rev, Kind: ErrBadID, Detail: "bad revision"}
	}
	if c.Offline {
		return nil, nil, &Error{Repo: id, Revision: rev, Kind: ErrNotCached, Detail: "offline, and this client keeps no cache"}
	}
	s := &Snapshot{ID: id, Revision: rev, Endpoint: c.endpoint(), Files: map[string]Cached{}}
	out := map[string][]byte{}
	at := rev
	left := maxTotal
	for _, f := range files {
		var got bool
		for _, name := range f.Names {
			b, meta, err := c.fileBytes(ctx, id, rev, at, name, s, left)
			if errors.Is(err, ErrNotFound) && isEntryMissing(err) {
				continue
			}
			if err != nil {
				return nil, nil, err
			}
			out[name] = b
			s.Files[name] = meta
			left -= int64(len(b))
			at = s.Commit
			got = true
			break
		}
		if !got {
			if f.Optional {
				s.Absent = append(s.Absent, f.Names[0])
				continue
			}
			return nil, nil, &Error{Repo: id, Revision: rev, File: strings.Join(f.Names, " or "), Status: http.StatusNotFound, Kind: ErrNotFound, Detail: entryNotFoundDetail}
		}
	}
	return s, out, nil
}

// fileBytes reads one file into memory, at most min(MaxBytes, left) bytes.
func (c *Client) fileBytes(ctx context.Context, id, rev, at, name string, s *Snapshot, left int64) ([]byte, Cached, error) {
	fail := func(kind error, status int, detail string) error {
		return &Error{Repo: id, Revision: rev, File: name, Status: status, Kind: kind, Detail: detail}
	}
	limit := c.MaxBytes
	if limit <= 0 {
		limit = DefaultMaxBytes
	}
	what := "limit"
	if left < limit {
		limit, what = max(left, 0), "left of the limit for all files"
	}
	tooBig := func(size int64) error {
		return fail(ErrTooLarge, 0, fmt.Sprintf("%d bytes declared, %d %s", size, limit, what))
	}
	check := func(meta answer) error {
		if meta.size > limit {
			return &tooLarge{meta.size}
		}
		return nil
	}
	resp, meta, err := c.get(ctx, c.ResolveURL(id, at, name), check)
	var big *tooLarge
	if errors.As(err, &big) {
		return nil, Cached{}, tooBig(big.size)
	}
	if err != nil {
		return nil, Cached{}, fail(ErrNetwork, 0, networkDetail(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, Cached{}, c.statusError(resp, meta, id, rev, name, s.Commit != "")
	}
	switch {
	case meta.commit == "":
		return nil, Cached{}, fail(ErrProtocol, 0, "no X-Repo-Commit header: is the endpoint a hub?")
	case !commitRe.MatchString(meta.commit):
		return nil, Cached{}, fail(ErrProtocol, 0, "X-Repo-Commit is not a commit hash")
	case s.Commit == "":
		s.Commit = meta.commit
	case meta.commit != s.Commit:
		return nil, Cached{}, fail(ErrProtocol, 0, "X-Repo-Commit changed within one snapshot")
	}
	total := resp.ContentLength
	if meta.size >= 0 {
		if total >= 0 && total != meta.size {
			return nil, Cached{}, fail(ErrProtocol, 0, fmt.Sprintf("X-Linked-Size %d but Content-Length %d", meta.size, total))
		}
		total = meta.size
	}
	if total > limit {
		return nil, Cached{}, tooBig(total)
	}
	var buf bytes.Buffer
	if total > 0 {
		buf.Grow(int(total))
	}
	pw := &progressWriter{w: &buf, name: name, total: total, fn: c.Progress}
	n, err := io.Copy(pw, io.LimitReader(resp.Body, limit+1))
	if errors.Is(err, io.ErrUnexpectedEOF) && total >= 0 {
		return nil, Cached{}, fail(ErrTruncated, 0, fmt.Sprintf("got %d of %d bytes", n, total))
	}
	if err != nil {
		return nil, Cached{}, fail(ErrNetwork, 0, fmt.Sprintf("after %d bytes: %s", n, networkDetail(err)))
	}
	if n > limit {
		return nil, Cached{}, fail(ErrTooLarge, 0, fmt.Sprintf("more than %d bytes (%s)", limit, what))
	}
	if total >= 0 && n != total {
		return nil, Cached{}, fail(ErrTruncated, 0, fmt.Sprintf("got %d of %d bytes", n, total))
	}
	return buf.Bytes(), Cached{Size: n, ETag: meta.etag}, nil
}
