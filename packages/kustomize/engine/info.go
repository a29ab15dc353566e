package main

import (
	"runtime"

	"sigs.k8s.io/kustomize/api/provenance"
)

// EngineInfo names the kustomize and Go versions compiled into the engine.
type EngineInfo struct {
	KustomizeVersion string `json:"kustomizeVersion"`
	GoVersion        string `json:"goVersion"`
}

func buildInfo() EngineInfo {
	return EngineInfo{KustomizeVersion: provenance.GetProvenance().Semver(), GoVersion: runtime.Version()}
}
