package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/adapterwasm/adapterwasm/internal/jsonin"
)

// maxLineBytes bounds one input line (a text of up to 16 MiB); longer lines are an error,
// not a silent cut. The tokenizer truncates to the model's max length anyway.
const maxLineBytes = 16 << 20

// textReader yields texts from stdin: one per line, or JSON lines {"text": …}.
type textReader struct {
	sc    *bufio.Scanner
	jsonl bool
	line  int
	// task is the "task_id" of the last JSON line (nil: none); tasks holds those of the batch
	// batches is passing to its callback, one per text.
	task  json.RawMessage
	tasks []json.RawMessage
}

func newTextReader(r io.Reader, jsonl bool) *textReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxLineBytes)
	return &textReader{sc: sc, jsonl: jsonl}
}

// next returns the next text, or io.EOF.
func (tr *textReader) next() (string, error) {
	for tr.sc.Scan() {
		tr.line++
		line := tr.sc.Text()
		if !tr.jsonl {
			return strings.TrimSuffix(line, "\r"), nil
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		var rec struct {
			Text   *string         `json:"text"`
			TaskID json.RawMessage `json:"task_id"`
		}
		if err := jsonin.CheckDepth([]byte(line), jsonin.MaxDepth); err != nil {
			return "", fmt.Errorf("stdin line %d: %v", tr.line, err)
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			return "", fmt.Errorf("stdin line %d: invalid JSON: %s", tr.line, jsonin.Describe(err))
		}
		if rec.Text == nil {
			return "", fmt.Errorf(`stdin line %d: missing "text"`, tr.line)
		}
		tr.task = rec.TaskID
		return *rec.Text, nil
	}
	if err := tr.sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return "", fmt.Errorf("stdin line %d: longer than %d bytes", tr.line+1, maxLineBytes)
		}
		return "", err
	}
	return "", io.EOF
}

// batches reads texts and calls f with up to n at a time.
func (tr *textReader) batches(n int, f func([]string) error) error {
	batch := make([]string, 0, n)
	for {
		t, err := tr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		batch = append(batch, t)
		tr.tasks = append(tr.tasks, tr.task)
		tr.task = nil
		if len(batch) == n {
			if err := f(batch); err != nil {
				return err
			}
			batch, tr.tasks = batch[:0], tr.tasks[:0]
		}
	}
	if len(batch) > 0 {
		return f(batch)
	}
	return nil
}

// writeJSONLine writes v as one line of JSON.
func writeJSONLine(w *bufio.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = w.Write(b)
	return err
}
