//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"errors"
	"runtime/debug"
	"syscall/js"
)

// main registers globalThis.convergeKustomizeEngine and waits for calls:
//
//	render(requestJSON: string, files: Array<[string, Uint8Array]>): Promise<string>
//
// The promise resolves with JSON: {"ok":true,"result":Result} or {"ok":false,"error":RenderError}.
// During a render the engine may call the host through globalThis.convergeHostCall(kind, json)
// (a Promise): kind "resolve" for a remote base, "helm" for a helmCharts entry.
func main() {
	api := js.Global().Get("Object").New()
	api.Set("render", js.FuncOf(render))
	api.Set("info", js.FuncOf(func(js.Value, []js.Value) any {
		b, _ := json.Marshal(buildInfo())
		return string(b)
	}))
	js.Global().Set("convergeKustomizeEngine", api)
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
		req.Files = jsFiles(args[1])
		req.Resolve = jsResolve
		req.Helm = jsHelm
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

// applyMemoryLimit fits the Go runtime into the hard cap the host put on the module's memory
// (see @converge/wasm-host): a soft limit so the collector works harder near the cap, and a
// stack limit so runaway recursion fails long before it fills memory.
func applyMemoryLimit(maxMemoryBytes int64) {
	if maxMemoryBytes <= 0 {
		return
	}
	debug.SetMemoryLimit(maxMemoryBytes / 4 * 3)
	debug.SetMaxStack(int(min(maxMemoryBytes/8, 64<<20)))
}

func jsFiles(v js.Value) []File {
	files := make([]File, 0, v.Length())
	for i := 0; i < v.Length(); i++ {
		e := v.Index(i)
		files = append(files, File{Name: e.Index(0).String(), Data: copyBytes(e.Index(1))})
	}
	return files
}

// hostCall calls globalThis.convergeHostCall(kind, json) and blocks this goroutine (not the
// JS event loop) until its promise settles.
func hostCall(kind string, payload any) (js.Value, error) {
	fn := js.Global().Get("convergeHostCall")
	if fn.Type() != js.TypeFunction {
		return js.Undefined(), errors.New("the host answers no " + kind + " calls")
	}
	b, _ := json.Marshal(payload)
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	then := js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{v: args[0]}
		return nil
	})
	catch := js.FuncOf(func(_ js.Value, args []js.Value) any {
		msg := args[0]
		if m := msg.Get("message"); m.Type() == js.TypeString {
			msg = m
		}
		ch <- result{err: errors.New(msg.String())}
		return nil
	})
	defer then.Release()
	defer catch.Release()
	fn.Invoke(kind, string(b)).Call("then", then, catch)
	r := <-ch
	return r.v, r.err
}

// jsResolve asks the host for a remote entry. The answer is an object
// {id, kind: "dir"|"file", files?: Array<[string, Uint8Array]>, path?, data?: Uint8Array, revision}.
func jsResolve(url, kustomizationFile string) (*Resolved, error) {
	v, err := hostCall("resolve", map[string]string{"url": url, "kustomizationFile": kustomizationFile})
	if err != nil {
		return nil, err
	}
	res := &Resolved{ID: v.Get("id").String(), Kind: v.Get("kind").String(), Revision: str(v.Get("revision")), Path: str(v.Get("path"))}
	if f := v.Get("files"); f.Type() == js.TypeObject {
		res.Files = jsFiles(f)
	}
	if d := v.Get("data"); d.Type() == js.TypeObject {
		res.Data = copyBytes(d)
	}
	return res, nil
}

// jsHelm asks the host to render a helmCharts entry; the answer is the manifests as a string.
func jsHelm(request []byte) (string, error) {
	v, err := hostCall("helm", json.RawMessage(request))
	if err != nil {
		return "", err
	}
	return v.String(), nil
}

func str(v js.Value) string {
	if v.Type() == js.TypeString {
		return v.String()
	}
	return ""
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
	out, _ := json.Marshal(map[string]any{"ok": false, "error": re})
	return out
}
