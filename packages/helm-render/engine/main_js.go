//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"errors"
	"runtime/debug"
	"syscall/js"
)

// main registers globalThis.convergeHelmEngine, tells the host (@converge/wasm-host) it is
// ready, and waits for calls:
//
//	render(requestJSON: string, files: Array<[string, Uint8Array]>, values: Array<[string, Uint8Array]>): Promise<string>
//
// The promise resolves with JSON: {"ok":true,"result":Result} or
// {"ok":false,"error":{"kind","message"}}. Helm's partial output is not sent: it may hold Secrets.
func main() {
	api := js.Global().Get("Object").New()
	api.Set("render", js.FuncOf(render))
	api.Set("info", js.FuncOf(func(js.Value, []js.Value) any {
		b, _ := json.Marshal(buildInfo())
		return string(b)
	}))
	js.Global().Set("convergeHelmEngine", api)
	if ready := js.Global().Get("convergeEngineReady"); ready.Type() == js.TypeFunction {
		ready.Invoke()
	}
	select {}
}

func render(_ js.Value, args []js.Value) any {
	req := &Request{}
	reqErr := json.Unmarshal([]byte(args[0].String()), req)
	if reqErr == nil {
		var limits struct {
			MaxMemoryBytes int64 `json:"maxMemoryBytes"`
		}
		_ = json.Unmarshal([]byte(args[0].String()), &limits)
		applyMemoryLimit(limits.MaxMemoryBytes)
		req.Files = make([]File, 0, args[1].Length())
		for i := 0; i < args[1].Length(); i++ {
			e := args[1].Index(i)
			req.Files = append(req.Files, File{Name: e.Index(0).String(), Data: copyBytes(e.Index(1))})
		}
		if req.UseLookup {
			req.Lookup = jsLookup
		}
		req.Values = req.Values[:0]
		for i := 0; i < args[2].Length(); i++ {
			e := args[2].Index(i)
			req.Values = append(req.Values, ValuesSource{Name: e.Index(0).String(), Data: copyBytes(e.Index(1))})
		}
	}
	var handler js.Func
	handler = js.FuncOf(func(_ js.Value, p []js.Value) any {
		resolve := p[0]
		go func() {
			defer handler.Release()
			var out []byte
			if reqErr != nil {
				out = marshalError(&RenderError{Kind: KindRequest, Message: "invalid request: " + reqErr.Error()})
			} else if res, err := Render(context.Background(), req); err != nil {
				out = marshalError(err)
			} else {
				out, _ = json.Marshal(map[string]any{"ok": true, "result": res})
			}
			req = nil
			resolve.Invoke(string(out))
		}()
		return nil
	})
	return js.Global().Get("Promise").New(handler)
}

// applyMemoryLimit fits the Go runtime into the hard cap the host put on this module's
// memory (its declared maximum, patched in before compiling): memory.grow past it fails and
// the runtime dies with "fatal error: out of memory", which the host reports as
// ENGINE_MEMORY_LIMIT. The soft limit makes the collector work harder near the cap, so a
// chart whose live heap fits is not killed by garbage it has not collected yet; the stack
// limit stops a template that recurses (a define including itself) long before its stack
// would fill memory, with "fatal error: stack overflow".
func applyMemoryLimit(maxMemoryBytes int64) {
	if maxMemoryBytes <= 0 {
		return
	}
	debug.SetMemoryLimit(maxMemoryBytes / 4 * 3)
	debug.SetMaxStack(int(min(maxMemoryBytes/8, 64<<20)))
}

// jsLookup asks the host (@converge/wasm-host) through globalThis.convergeHostCall("lookup",
// {apiVersion, kind, namespace, name}), a Promise of a JSON string ("" or "null" for not
// found). It blocks this goroutine, not the JS event loop, so the host can answer
// asynchronously.
func jsLookup(apiVersion, kind, namespace, name string) (map[string]any, error) {
	fn := js.Global().Get("convergeHostCall")
	if fn.Type() != js.TypeFunction {
		return map[string]any{}, nil
	}
	query, _ := json.Marshal(map[string]string{"apiVersion": apiVersion, "kind": kind, "namespace": namespace, "name": name})
	type result struct {
		text string
		err  error
	}
	ch := make(chan result, 1)
	then := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{text: args[0].String()}
		return nil
	})
	catch := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{err: errors.New(args[0].Call("toString").String())}
		return nil
	})
	defer then.Release()
	defer catch.Release()
	fn.Invoke("lookup", string(query)).Call("then", then, catch)
	r := <-ch
	if r.err != nil {
		return nil, r.err
	}
	out := map[string]any{}
	if r.text == "" || r.text == "null" {
		return out, nil
	}
	if err := json.Unmarshal([]byte(r.text), &out); err != nil {
		return nil, err
	}
	return out, nil
}

func copyBytes(v js.Value) []byte {
	b := make([]byte, v.Get("byteLength").Int())
	js.CopyBytesToGo(b, v)
	return b
}

func marshalError(err error) []byte {
	re, ok := err.(*RenderError)
	if !ok {
		re = &RenderError{Kind: KindInternal, Message: err.Error()}
	}
	out, _ := json.Marshal(map[string]any{"ok": false, "error": map[string]string{
		"kind": re.Kind, "message": re.Message,
	}})
	return out
}
