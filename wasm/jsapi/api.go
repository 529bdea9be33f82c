//go:build js

// Package jsapi is the JS face of wasm/engine: the object the Wasm module hands to JavaScript,
// with every method returning a Promise that rejects with a typed AdapterwasmError (errors and
// recovered panics alike). It converts values and does nothing else; the logic is in engine.
package jsapi

import (
	"errors"
	"maps"
	"os"
	"slices"
	"syscall/js"

	"github.com/adapterwasm/adapterwasm/runtime/pretrained"
	"github.com/adapterwasm/adapterwasm/wasm/engine"
)

// Version is the module's version, set with -ldflags "-X …/jsapi.Version=…".
var Version = "dev"

// testHooks add functions to the module object in test builds only (fataltest_js.go).
var testHooks []func(api js.Value)

// New returns the module object:
//
//	{
//	  version: string,
//	  limits: {maxAdapterBytes},   // what loads are refused beyond, for the loader to check first
//	  createModel(files: {[name]: Uint8Array}): Promise<Model>,
//	  setupNames(setup): Promise<{adapters: string[], fusions: string[]}>,
//	  memStats(): Promise<{heapAlloc, heapSys, sys}>,
//	  convert(files: {[name]: Uint8Array}, {dtype, name?, fallback?, revision?, block?}):
//	    Promise<{file: Uint8Array, manifest: string, sourceName, sourceBytes}>,  // `adapterwasm convert`
//	  buildIndex(base: string, roots: string[]): Promise<string>,  // `adapterwasm index` (needs a file system: Node's bin)
//	  resolveAdapterHub(index: Uint8Array | null, identifier, modelName, config?: string, strict?: boolean):
//	    Promise<string>,  // an AdapterHub id's AdapterHub/… repo (adapters.ResolveAdapterHub)
//	  _panic(): Promise<never>   // test hook: a recovered panic
//	  _exit(): Promise<never>    // test hook: the program ends, as on a fatal runtime error
//	}
func New() js.Value {
	api := jsObject.New()
	api.Set("version", Version)
	api.Set("limits", map[string]any{"maxAdapterBytes": engine.MaxAdapterBytes})
	api.Set("createModel", AsyncMethod(func(args []js.Value) (js.Value, error) {
		files, err := Files(args, 0, "files")
		if err != nil {
			return js.Undefined(), err
		}
		m, err := engine.New(files)
		if err != nil {
			return js.Undefined(), err
		}
		return modelValue(m), nil
	}))
	api.Set("setupNames", AsyncMethod(func(args []js.Value) (js.Value, error) {
		expr, err := String(args, 0, "setup")
		if err != nil {
			return js.Undefined(), err
		}
		names, fusions, err := engine.SetupNames(expr)
		if err != nil {
			return js.Undefined(), err
		}
		if names == nil {
			names = []string{}
		}
		if fusions == nil {
			fusions = []string{}
		}
		return JSON(map[string][]string{"adapters": names, "fusions": fusions})
	}))
	api.Set("convert", AsyncMethod(func(args []js.Value) (js.Value, error) {
		files, err := Files(args, 0, "files")
		if err != nil {
			return js.Undefined(), err
		}
		var opt pretrained.ConvertOptions
		if v := arg(args, 1); v.Type() == js.TypeObject {
			opt = pretrained.ConvertOptions{DType: optField(v, "dtype"), Name: optField(v, "name"), Fallback: optField(v, "fallback"), Revision: optField(v, "revision")}
			if b := v.Get("block"); b.Type() == js.TypeNumber {
				opt.Block = b.Int() // checked by Convert (32, 64 or 128, q8 only)
			}
		}
		c, err := engine.Convert(files, opt)
		if err != nil {
			return js.Undefined(), err
		}
		man, err := c.ManifestJSON()
		if err != nil {
			return js.Undefined(), err
		}
		out := jsObject.New()
		out.Set("file", Uint8Array(c.File)) // a copy: the model built from the file may rearrange its own
		out.Set("manifest", string(man))
		out.Set("sourceName", c.SourceName)
		out.Set("sourceBytes", c.SourceBytes)
		return out, nil
	}))
	api.Set("buildIndex", AsyncMethod(func(args []js.Value) (js.Value, error) {
		base, err := String(args, 0, "base")
		if err != nil {
			return js.Undefined(), err
		}
		roots, err := Strings(args, 1, "roots")
		if err != nil {
			return js.Undefined(), err
		}
		b, err := engine.BuildIndex(base, roots)
		if err != nil {
			return js.Undefined(), err
		}
		return js.ValueOf(string(b)), nil
	}))
	api.Set("resolveAdapterHub", AsyncMethod(func(args []js.Value) (js.Value, error) {
		var index []byte
		if v := arg(args, 0); !v.IsNull() && !v.IsUndefined() {
			var err error
			if v.InstanceOf(jsUint8Array) && v.Get("byteLength").Int() > engine.MaxAdapterHubIndexBytes {
				return js.Undefined(), argError("AdapterHub index is %d bytes; at most %d", v.Get("byteLength").Int(), engine.MaxAdapterHubIndexBytes)
			}
			if index, err = Bytes(v, "index"); err != nil {
				return js.Undefined(), err
			}
		}
		identifier, err := String(args, 1, "identifier")
		if err != nil {
			return js.Undefined(), err
		}
		modelName, err := String(args, 2, "modelName")
		if err != nil {
			return js.Undefined(), err
		}
		id, err := engine.ResolveAdapterHub(index, identifier, modelName, optString(args, 3), arg(args, 4).Truthy())
		if err != nil {
			return js.Undefined(), err
		}
		return js.ValueOf(id), nil
	}))
	api.Set("memStats", AsyncMethod(func(args []js.Value) (js.Value, error) {
		return JSON(engine.ReadMemStats())
	}))
	api.Set("_exit", AsyncMethod(func(args []js.Value) (js.Value, error) {
		os.Exit(2) // as a fatal runtime error ends the program
		return js.Undefined(), nil
	}))
	api.Set("_panic", AsyncMethod(func(args []js.Value) (js.Value, error) {
		var m map[string]int
		m["boom"]++ // assignment to entry in nil map
		return js.Undefined(), nil
	}))
	for _, h := range testHooks {
		h(api)
	}
	return api
}

var errNoTraining = errors.New("no training under way: call trainBegin first")

// optField is the string property name of o, "" when it is not a string.
func optField(o js.Value, name string) string {
	if v := o.Get(name); v.Type() == js.TypeString {
		return v.String()
	}
	return ""
}

// modelValue is the JS object for one model:
//
//	{
//	  info(): Promise<Info>,
//	  tokenize(texts, maxLength?): Promise<{inputIds, tokens, attentionMask}[]>,
//	  embed(texts, {pooling?, normalize?}): Promise<{dim, data: Float32Array}>,
//	  loadAdapter(name, files): Promise<AdapterInfo>,
//	  unloadAdapter(name): Promise<void>,
//	  setActive(setup, head?): Promise<void>,
//	  adapters(): Promise<AdapterInfo[]>,
//	  classify(texts, setup?, head?, taskIds?): Promise<Result[]>,   // one per text, shaped as the CLI's;
//	                                  // taskIds: MultiTask's task per text (integers or adapter names)
//	  trainBegin(name, examplesJSON, optionsJSON?): Promise<void>,   // engine.TrainAdapterJSON
//	  trainStep(): Promise<TrainProgress>,  // one AdamW step; {done: true} once the adapter is loaded
//	  trainCancel(): Promise<void>,
//	  saveAdapter(name, format?): Promise<{[file]: Uint8Array}>,   // "bin" (default) or "safetensors"
//	  free(): void
//	}
//
// Its functions are never released: calling a released js.Func ends the Go program, and a freed
// model answers with code "closed" instead.
func modelValue(m *engine.Model) js.Value {
	o := jsObject.New()
	o.Set("info", AsyncMethod(func(args []js.Value) (js.Value, error) {
		info, err := m.Info()
		if err != nil {
			return js.Undefined(), err
		}
		return JSON(info)
	}))
	o.Set("tokenize", AsyncMethod(func(args []js.Value) (js.Value, error) {
		texts, err := Strings(args, 0, "texts")
		if err != nil {
			return js.Undefined(), err
		}
		maxLength := 0
		if v := arg(args, 1); v.Type() == js.TypeNumber {
			maxLength = v.Int()
		}
		toks, err := m.Tokenize(texts, maxLength)
		if err != nil {
			return js.Undefined(), err
		}
		return JSON(toks)
	}))
	o.Set("embed", AsyncMethod(func(args []js.Value) (js.Value, error) {
		texts, err := Strings(args, 0, "texts")
		if err != nil {
			return js.Undefined(), err
		}
		var opt engine.EmbedOptions
		if v := arg(args, 1); v.Type() == js.TypeObject {
			if p := v.Get("pooling"); p.Type() == js.TypeString {
				opt.Pooling = pretrained.Pooling(p.String())
			}
			opt.Normalize = v.Get("normalize").Truthy()
		}
		flat, dim, err := m.Embed(texts, opt)
		if err != nil {
			return js.Undefined(), err
		}
		out := jsObject.New()
		out.Set("dim", dim)
		out.Set("data", Float32Array(flat))
		return out, nil
	}))
	o.Set("loadAdapter", AsyncMethod(func(args []js.Value) (js.Value, error) {
		name, err := String(args, 0, "name")
		if err != nil {
			return js.Undefined(), err
		}
		files, err := Files(args, 1, "files")
		if err != nil {
			return js.Undefined(), err
		}
		info, err := m.LoadAdapter(name, files)
		if err != nil {
			return js.Undefined(), err
		}
		return JSON(info)
	}))
	// Training: one run at a time per model, driven from JS one step per call (model.js
	// trainAdapter), so that progress and aborts happen between event-loop turns.
	var training *engine.Training
	o.Set("trainBegin", AsyncMethod(func(args []js.Value) (js.Value, error) {
		name, err := String(args, 0, "name")
		if err != nil {
			return js.Undefined(), err
		}
		examples, err := String(args, 1, "examples")
		if err != nil {
			return js.Undefined(), err
		}
		t, err := m.TrainAdapterJSON(name, []byte(examples), []byte(optString(args, 2)))
		if err != nil {
			return js.Undefined(), err
		}
		training = t
		return js.Undefined(), nil
	}))
	o.Set("trainStep", AsyncMethod(func(args []js.Value) (js.Value, error) {
		if training == nil {
			return js.Undefined(), &engine.Error{Code: engine.CodeInvalidArgument, Err: errNoTraining}
		}
		p, err := training.Step()
		if err != nil || p.Done {
			training = nil
		}
		if err != nil {
			return js.Undefined(), err
		}
		return JSON(p)
	}))
	o.Set("trainCancel", AsyncMethod(func(args []js.Value) (js.Value, error) {
		training = nil
		return js.Undefined(), nil
	}))
	o.Set("saveAdapter", AsyncMethod(func(args []js.Value) (js.Value, error) {
		name, err := String(args, 0, "name")
		if err != nil {
			return js.Undefined(), err
		}
		format := optString(args, 1)
		if format == "" {
			format = "bin"
		}
		files, err := m.SaveAdapter(name, format)
		if err != nil {
			return js.Undefined(), err
		}
		out := jsObject.New()
		for n, b := range files {
			out.Set(n, Uint8Array(b))
		}
		return out, nil
	}))
	o.Set("unloadAdapter", AsyncMethod(func(args []js.Value) (js.Value, error) {
		name, err := String(args, 0, "name")
		if err != nil {
			return js.Undefined(), err
		}
		return js.Undefined(), m.UnloadAdapter(name)
	}))
	o.Set("setActive", AsyncMethod(func(args []js.Value) (js.Value, error) {
		setup, err := String(args, 0, "setup")
		if err != nil {
			return js.Undefined(), err
		}
		return js.Undefined(), m.SetActive(setup, optString(args, 1))
	}))
	o.Set("adapters", AsyncMethod(func(args []js.Value) (js.Value, error) {
		list, err := m.Adapters()
		if err != nil {
			return js.Undefined(), err
		}
		if list == nil {
			list = []engine.AdapterInfo{}
		}
		return JSON(list)
	}))
	o.Set("classify", AsyncMethod(func(args []js.Value) (js.Value, error) {
		texts, err := Strings(args, 0, "texts")
		if err != nil {
			return js.Undefined(), err
		}
		tasks, err := Tasks(args, 3, "taskIds", len(texts))
		if err != nil {
			return js.Undefined(), err
		}
		res, err := m.ClassifyTasks(texts, optString(args, 1), optString(args, 2), tasks)
		if err != nil {
			return js.Undefined(), err
		}
		return resultsValue(res), nil
	}))
	o.Set("free", js.FuncOf(func(this js.Value, args []js.Value) any {
		m.Close()
		return nil
	}))
	return o
}

// resultsValue converts classification results by hand rather than through JSON, which cannot
// carry NaN or ±Inf logits. The shapes are those of `adapterwasm classify` (engine.Result).
func resultsValue(res []*engine.Result) js.Value {
	out := jsArray.New(len(res))
	for i, r := range res {
		out.SetIndex(i, resultValue(r))
	}
	return out
}

func resultValue(r *engine.Result) js.Value {
	o := jsObject.New()
	if r == nil {
		return o
	}
	if r.Head != "" {
		o.Set("head", r.Head)
	}
	if p := r.Prediction; p != nil {
		o.Set("label", p.Label)
		o.Set("score", float64(p.Score))
		scores := jsObject.New()
		// Keys in sorted order, as the CLI's encoding/json prints them: Go's map order would
		// make two equal results differ as JSON.stringify strings from call to call.
		for _, k := range slices.Sorted(maps.Keys(p.Scores)) {
			scores.Set(k, float64(p.Scores[k]))
		}
		o.Set("scores", scores)
		logits := jsArray.New(len(p.Logits))
		for k, v := range p.Logits {
			logits.SetIndex(k, float64(v))
		}
		o.Set("logits", logits)
		if p.Labels != nil {
			ls := jsArray.New(len(p.Labels))
			for k, l := range p.Labels {
				ls.SetIndex(k, l)
			}
			o.Set("labels", ls)
		}
	}
	// As the CLI's encoding/json prints a Result: empty words/tokens are left out (omitempty).
	if len(r.Words) > 0 {
		words := jsArray.New(len(r.Words))
		for k, w := range r.Words {
			words.SetIndex(k, object("word", w.Word, "start", w.Start, "end", w.End, "label", w.Label, "score", float64(w.Score)))
		}
		o.Set("words", words)
	}
	if len(r.Tokens) > 0 {
		toks := jsArray.New(len(r.Tokens))
		for k, t := range r.Tokens {
			toks.SetIndex(k, object("token", t.Token, "word", t.Word, "label", t.Label, "score", float64(t.Score)))
		}
		o.Set("tokens", toks)
	}
	if len(r.Heads) > 0 {
		hs := jsObject.New()
		for _, name := range slices.Sorted(maps.Keys(r.Heads)) {
			hs.Set(name, resultValue(r.Heads[name]))
		}
		o.Set("heads", hs)
	}
	if in := r.Input; in != nil {
		o.Set("input", object("tokens", in.Tokens, "truncated", in.Truncated, "unknownShare", in.UnknownShare))
	}
	return o
}

// object builds a JS object from key, value pairs in their order, so its keys (and so
// JSON.stringify of a result) come out as the CLI prints them, not in a Go map's random order.
func object(kv ...any) js.Value {
	o := jsObject.New()
	for i := 0; i+1 < len(kv); i += 2 {
		o.Set(kv[i].(string), kv[i+1])
	}
	return o
}
