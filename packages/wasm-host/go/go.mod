module github.com/converge/wasm-host/go

go 1.26.0
