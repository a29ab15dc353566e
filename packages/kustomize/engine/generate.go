package main

import (
	"bytes"
	"path"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// generateKustomization writes the kustomization Flux's kustomize-controller generates for a
// folder without one: every .yaml/.yml/.json file below it that holds Kubernetes objects
// (apiVersion and kind), and every sub-folder holding a kustomization as a base, in
// lexical order.
func generateKustomization(fs filesys.FileSystem, root string) ([]byte, error) {
	var resources []string
	var walk func(dir string) error
	walk = func(dir string) error {
		names, err := fs.ReadDir(dir)
		if err != nil {
			return err
		}
		sort.Strings(names)
		for _, n := range names {
			p := path.Join(dir, n)
			rel := strings.TrimPrefix(strings.TrimPrefix(p, root), "/")
			if fs.IsDir(p) {
				if findKustomizationFile(fs, p) != "" {
					resources = append(resources, rel)
					continue
				}
				if err := walk(p); err != nil {
					return err
				}
				continue
			}
			ext := path.Ext(n)
			if ext != ".yaml" && ext != ".yml" && ext != ".json" {
				continue
			}
			data, err := fs.ReadFile(p)
			if err != nil {
				return err
			}
			if holdsObjects(data) {
				resources = append(resources, rel)
			}
		}
		return nil
	}
	if err := walk(root); err != nil {
		return nil, err
	}
	return yaml.Marshal(map[string]any{
		"apiVersion": "kustomize.config.k8s.io/v1beta1",
		"kind":       "Kustomization",
		"resources":  resources,
	})
}

// holdsObjects: at least one document of the file has an apiVersion and a kind.
func holdsObjects(data []byte) bool {
	for _, doc := range bytes.Split(data, []byte("\n---")) {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if yaml.Unmarshal(doc, &head) == nil && head.APIVersion != "" && head.Kind != "" {
			return true
		}
	}
	return false
}
