//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"syscall/js"

	wasmhost "github.com/converge/wasm-host/go"
)

// main registers globalThis.convergeKustomizeEngine for @converge/wasm-host:
//
//	render(requestJSON: string, files: Array<[string, Uint8Array]>): Promise<string>
//
// The promise resolves with JSON: {"ok":true,"result":Result} or {"ok":false,"error":RenderError}.
// During a render the engine calls the host (wasmhost.HostCall): "resolve" for a remote
// entry, "helm" for a helmCharts entry.
func main() {
	wasmhost.Serve("convergeKustomizeEngine", render, func() any { return buildInfo() })
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
		for _, f := range wasmhost.Files(args[0]) {
			req.Files = append(req.Files, File{Name: f.Name, Data: f.Data})
		}
		req.Resolve = jsResolve
		req.Helm = jsHelm
	}
	return func() []byte {
		if reqErr != nil {
			return marshalError(&RenderError{Kind: KindRequest, Message: "invalid request: " + reqErr.Error()})
		}
		res, err := Render(context.Background(), req)
		if err != nil {
			return marshalError(err)
		}
		out, _ := json.Marshal(map[string]any{"ok": true, "result": res})
		return out
	}
}

// jsResolve asks the host for a remote entry. The answer is an object
// {id, kind: "dir"|"file", files?: Array<[string, Uint8Array]>, path?, data?: Uint8Array, revision}.
func jsResolve(url, kustomizationFile string) (*Resolved, error) {
	payload, _ := json.Marshal(map[string]string{"url": url, "kustomizationFile": kustomizationFile})
	v, err := wasmhost.HostCall("resolve", payload)
	if err != nil {
		return nil, err
	}
	res := &Resolved{ID: v.Get("id").String(), Kind: v.Get("kind").String(), Revision: str(v.Get("revision")), Path: str(v.Get("path"))}
	if f := v.Get("files"); f.Type() == js.TypeObject {
		for _, file := range wasmhost.Files(f) {
			res.Files = append(res.Files, File{Name: file.Name, Data: file.Data})
		}
	}
	if d := v.Get("data"); d.Type() == js.TypeObject {
		res.Data = wasmhost.CopyBytes(d)
	}
	return res, nil
}

// jsHelm asks the host to render a helmCharts entry; the answer is the manifests as a string.
func jsHelm(request []byte) (string, error) {
	v, err := wasmhost.HostCall("helm", request)
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

func marshalError(err error) []byte {
	re, ok := err.(*RenderError)
	if !ok {
		re = &RenderError{Kind: KindInternal, Message: err.Error()}
	}
	out, _ := json.Marshal(map[string]any{"ok": false, "error": re})
	return out
}
