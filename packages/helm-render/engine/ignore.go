package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"time"

	"helm.sh/helm/v4/pkg/ignore"
)

// ignoreRules parses the chart's .helmignore, as the directory loader does.
func ignoreRules(in []File) (*ignore.Rules, error) {
	rules := ignore.Empty()
	for _, f := range in {
		if strings.TrimPrefix(f.Name, "./") == ignore.HelmIgnore {
			r, err := ignore.Parse(bytes.NewReader(f.Data))
			if err != nil {
				return nil, fail(KindChartInvalid, fmt.Errorf("cannot parse %s: %w", ignore.HelmIgnore, err))
			}
			rules = r
		}
	}
	rules.AddDefaults()
	return rules, nil
}

// ignored reports whether the walker would skip the file: either one of its
// parent directories is ignored (the walker skips the whole directory), or the
// file itself is.
func ignored(rules *ignore.Rules, name string) bool {
	parts := strings.Split(name, "/")
	for i := 1; i < len(parts); i++ {
		dir := strings.Join(parts[:i], "/")
		if rules.Ignore(dir, fakeInfo{name: parts[i-1], dir: true}) {
			return true
		}
	}
	return rules.Ignore(name, fakeInfo{name: path.Base(name)})
}

// fakeInfo is the fs.FileInfo that ignore.Rules inspects (only IsDir and Name).
type fakeInfo struct {
	name string
	dir  bool
}

func (f fakeInfo) Name() string { return f.name }
func (f fakeInfo) Size() int64  { return 0 }
func (f fakeInfo) Mode() fs.FileMode {
	if f.dir {
		return fs.ModeDir | 0o755
	}
	return 0o644
}
func (f fakeInfo) ModTime() time.Time { return time.Time{} }
func (f fakeInfo) IsDir() bool        { return f.dir }
func (f fakeInfo) Sys() any           { return nil }
