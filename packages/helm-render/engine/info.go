package main

import (
	"runtime"

	"helm.sh/helm/v4/pkg/chart/common"
)

// EngineInfo names the Helm and Kubernetes versions compiled into the engine.
type EngineInfo struct {
	HelmVersion        string `json:"helmVersion"`
	GoVersion          string `json:"goVersion"`
	DefaultKubeVersion string `json:"defaultKubeVersion"`
}

func buildInfo() EngineInfo {
	caps := common.DefaultCapabilities
	return EngineInfo{
		HelmVersion:        caps.HelmVersion.Version,
		GoVersion:          runtime.Version(),
		DefaultKubeVersion: caps.KubeVersion.Version,
	}
}
