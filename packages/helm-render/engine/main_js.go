//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"syscall/js"

	wasmhost "github.com/converge/wasm-host/go"
)

// main registers globalThis.convergeHelmEngine for @converge/wasm-host:
//
//	render(requestJSON: string, files: Array<[string, Uint8Array]>, values: Array<[string, Uint8Array]>): Promise<string>
//
// The promise resolves with JSON: {"ok":true,"result":Result} or
// {"ok":false,"error":{"kind","message"}}. Helm's partial output is not sent: it may hold Secrets.
func main() {
	wasmhost.Serve("convergeHelmEngine", render, func() any { return buildInfo() })
}

func render(request string, args []js.Value) func() []byte {
	req := &Request{}
	reqErr := json.Unmarshal([]byte(request), req)
	if reqErr == nil {
		var limits struct {
			MaxMemoryBytes int64 `json:"maxMemoryBytes"`
		}
		_ = json.Unmarshal([]byte(request), &limits)
		wasmhost.ApplyMemoryLimit(limits.MaxMemoryBytes)
		files := wasmhost.Files(args[0])
		req.Files = make([]File, 0, len(files))
		for _, f := range files {
			req.Files = append(req.Files, File{Name: f.Name, Data: f.Data})
		}
		if req.UseLookup {
			req.Lookup = jsLookup
		}
		req.Values = req.Values[:0]
		for _, v := range wasmhost.Files(args[1]) {
			req.Values = append(req.Values, ValuesSource{Name: v.Name, Data: v.Data})
		}
	}
	return func() []byte {
		if reqErr != nil {
			return marshalError(&RenderError{Kind: KindRequest, Message: "invalid request: " + reqErr.Error()})
		}
		res, err := Render(context.Background(), req)
		req = nil
		if err != nil {
			return marshalError(err)
		}
		out, _ := json.Marshal(map[string]any{"ok": true, "result": res})
		return out
	}
}

// jsLookup asks the host through wasmhost.HostCall("lookup", {apiVersion, kind, namespace,
// name}), whose answer is a JSON string ("" or "null" for not found). It blocks this
// goroutine, not the JS event loop, so the host can answer asynchronously.
func jsLookup(apiVersion, kind, namespace, name string) (map[string]any, error) {
	query, _ := json.Marshal(map[string]string{"apiVersion": apiVersion, "kind": kind, "namespace": namespace, "name": name})
	v, err := wasmhost.HostCall("lookup", query)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if v.Type() != js.TypeString || v.String() == "" || v.String() == "null" {
		return out, nil
	}
	if err := json.Unmarshal([]byte(v.String()), &out); err != nil {
		return nil, err
	}
	return out, nil
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
