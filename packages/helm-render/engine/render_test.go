package main

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
)

func chartOf(files map[string]string) []File {
	out := make([]File, 0, len(files))
	for name, data := range files {
		out = append(out, File{Name: name, Data: []byte(data)})
	}
	return out
}

func TestCompareWalkOrderVisitsADirectoryBeforeItsLongerSiblings(t *testing.T) {
	names := []string{"a-c", "a/b", "a.txt", "a/a/z", "b"}
	slices.SortFunc(names, compareWalkOrder)
	// filepath.Walk reads a directory's entries sorted by name ("a" < "a-c" < "a.txt")
	// and descends into "a" first, while a plain string sort would put "a-c" before "a/b".
	want := []string{"a/a/z", "a/b", "a-c", "a.txt", "b"}
	if !slices.Equal(names, want) {
		t.Fatalf("got %v, want %v", names, want)
	}
}

func TestRenderAppliesHelmignoreToFilesAndDirectories(t *testing.T) {
	res, err := Render(context.Background(), &Request{
		ReleaseName: "r",
		Files: chartOf(map[string]string{
			"Chart.yaml":             "apiVersion: v2\nname: c\nversion: 0.1.0\n",
			".helmignore":            "skip/\n*.bak\n",
			"skip/a.txt":             "no",
			"keep.bak":               "no",
			"keep.txt":               "yes",
			"templates/cm.yaml":      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  skip: {{ .Files.Get \"skip/a.txt\" | quote }}\n  bak: {{ .Files.Get \"keep.bak\" | quote }}\n  keep: {{ .Files.Get \"keep.txt\" | quote }}\n",
			"templates/.hidden.yaml": "not: rendered",
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`skip: ""`, `bak: ""`, `keep: "yes"`, "# Source: c/templates/cm.yaml"} {
		if !strings.Contains(res.Manifest, want) {
			t.Errorf("manifest lacks %q:\n%s", want, res.Manifest)
		}
	}
	if strings.Contains(res.Manifest, "not: rendered") {
		t.Errorf("a dot file in templates/ was rendered")
	}
}

func TestRenderClassifiesFailures(t *testing.T) {
	base := map[string]string{"Chart.yaml": "apiVersion: v2\nname: c\nversion: 0.1.0\n"}
	cases := map[string]struct {
		files map[string]string
		kind  string
	}{
		"parse error":      {map[string]string{"templates/a.yaml": "{{ .Values.x "}, KindTemplate},
		"required":         {map[string]string{"templates/a.yaml": "{{ required \"x!\" .Values.x }}"}, KindTemplate},
		"no Chart.yaml":    {map[string]string{"Chart.yaml": ""}, KindChartInvalid},
		"escaping path":    {map[string]string{"../x": "y"}, KindRequest},
		"invalid manifest": {map[string]string{"templates/a.yaml": "a: [b"}, KindManifest},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			files := map[string]string{}
			for k, v := range base {
				files[k] = v
			}
			for k, v := range c.files {
				files[k] = v
			}
			_, err := Render(context.Background(), &Request{ReleaseName: "r", Files: chartOf(files)})
			var re *RenderError
			if !errors.As(err, &re) || re.Kind != c.kind {
				t.Fatalf("got %v, want kind %s", err, c.kind)
			}
		})
	}
}

func TestRenderBoundsTheOutput(t *testing.T) {
	_, err := Render(context.Background(), &Request{
		ReleaseName:    "r",
		MaxOutputBytes: 1000,
		Files: chartOf(map[string]string{
			"Chart.yaml":       "apiVersion: v2\nname: c\nversion: 0.1.0\n",
			"templates/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n{{- range until 1000 }}\n  k{{ . }}: v\n{{- end }}\n",
		}),
	})
	var re *RenderError
	if !errors.As(err, &re) || re.Kind != KindOutputTooLarge {
		t.Fatalf("got %v, want %s", err, KindOutputTooLarge)
	}
}
