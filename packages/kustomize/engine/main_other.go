//go:build !(js && wasm)

package main

// main exists so the package builds natively for `go test` and `go vet`; the
// real entry point is main_js.go.
func main() {}
