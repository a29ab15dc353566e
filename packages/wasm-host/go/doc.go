// Package wasmhost is the Go side of @converge/wasm-host: what every Converge engine compiled
// to WebAssembly (GOOS=js) needs to be called by the host's worker — register its
// render/info object, run each render in a goroutine behind a Promise, call the host back,
// and fit the Go runtime into the memory cap the host declared on the module.
package wasmhost
