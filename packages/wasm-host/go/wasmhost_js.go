//go:build js && wasm

package wasmhost

import (
	"encoding/json"
	"errors"
	"runtime/debug"
	"syscall/js"
)

// Render reads one call's arguments (JS values are valid only during the call, so read
// them here) and returns the work to do in a goroutine, which returns the reply JSON.
type Render func(request string, args []js.Value) (run func() []byte)

// Serve registers globalThis[name] = {render, info}, tells the host it is ready
// (globalThis.convergeEngineReady) and blocks forever:
//
//	render(request: string, ...args): Promise<string>
//	info(): string                      // JSON of info()
func Serve(name string, render Render, info func() any) {
	api := js.Global().Get("Object").New()
	api.Set("render", js.FuncOf(func(_ js.Value, args []js.Value) any {
		run := render(args[0].String(), args[1:])
		var handler js.Func
		handler = js.FuncOf(func(_ js.Value, p []js.Value) any {
			resolve := p[0]
			go func() {
				defer handler.Release()
				resolve.Invoke(string(run()))
			}()
			return nil
		})
		return js.Global().Get("Promise").New(handler)
	}))
	api.Set("info", js.FuncOf(func(js.Value, []js.Value) any {
		b, _ := json.Marshal(info())
		return string(b)
	}))
	js.Global().Set(name, api)
	if ready := js.Global().Get("convergeEngineReady"); ready.Type() == js.TypeFunction {
		ready.Invoke()
	}
	select {}
}

// HostCall calls globalThis.convergeHostCall(kind, payload) and blocks this goroutine (not
// the JS event loop) until the host's Promise settles: its value, or its rejection's message.
func HostCall(kind string, payload []byte) (js.Value, error) {
	fn := js.Global().Get("convergeHostCall")
	if fn.Type() != js.TypeFunction {
		return js.Undefined(), errors.New("the host answers no " + kind + " calls")
	}
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
	fn.Invoke(kind, string(payload)).Call("then", then, catch)
	r := <-ch
	return r.v, r.err
}

// File is one [name, bytes] pair the host sent.
type File struct {
	Name string
	Data []byte
}

// Files reads an Array<[string, Uint8Array]>.
func Files(v js.Value) []File {
	files := make([]File, 0, v.Length())
	for i := 0; i < v.Length(); i++ {
		e := v.Index(i)
		files = append(files, File{Name: e.Index(0).String(), Data: CopyBytes(e.Index(1))})
	}
	return files
}

// CopyBytes copies a Uint8Array into Go memory.
func CopyBytes(v js.Value) []byte {
	b := make([]byte, v.Get("byteLength").Int())
	js.CopyBytesToGo(b, v)
	return b
}

// ApplyMemoryLimit fits the Go runtime into the hard cap the host put on the module's memory
// (its declared maximum): memory.grow past it fails and the runtime dies with "fatal error:
// out of memory", which the host reports as a memory limit. The soft limit makes the
// collector work harder near the cap, so a render whose live heap fits is not killed by
// garbage it has not collected yet; the stack limit stops runaway recursion long before its
// stack would fill memory, with "fatal error: stack overflow".
func ApplyMemoryLimit(maxMemoryBytes int64) {
	if maxMemoryBytes <= 0 {
		return
	}
	debug.SetMemoryLimit(maxMemoryBytes / 4 * 3)
	debug.SetMaxStack(int(min(maxMemoryBytes/8, 64<<20)))
}
