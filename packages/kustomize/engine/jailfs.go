package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/kio"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"
	"sigs.k8s.io/yaml"
)

// Resolved is what the host returns for a remote `resources:`/`components:` entry: a folder
// (a Git repository's files and the path in it) or one file (an HTTP URL).
type Resolved struct {
	// Stable name of the content, e.g. a hash of repository URL and commit.
	ID string
	// "dir" or "file".
	Kind string
	// The repository's files (Kind "dir"), relative to its root.
	Files []File
	// The folder in the repository the URL names (Kind "dir").
	Path string
	// The file's content (Kind "file").
	Data []byte
	// What was resolved, e.g. the commit, reported back with the result.
	Revision string
}

// Resolver fetches a remote entry; kustomizationFile is the file naming it (artifact-relative).
type Resolver func(url, kustomizationFile string) (*Resolved, error)

// HelmInflater renders one `helmCharts:` entry and returns the manifests, as `helm template`.
type HelmInflater func(request []byte) (string, error)

// RemoteRecord is one remote entry the build used and the revision it resolved to.
type RemoteRecord struct {
	URL      string `json:"url"`
	Revision string `json:"revision"`
}

// jailFS is the file system kustomize sees: the in-memory artifact, where no path outside
// the artifact (or a resolved remote base) exists, and where kustomization files are
// rewritten before kustomize reads them: remote entries replaced by the resolved copies,
// helmCharts by their rendered output, the root by the options given in code.
type jailFS struct {
	filesys.FileSystem
	req           *Request
	rootOverrides string
	rewritten     map[string][]byte
	inheritedNS   map[string]string
	remoteDirs    map[string]string // RemoteRoot/<id> → the repository URL
	remotes       map[string]RemoteRecord
	remoteOrder   []string
	violation     string
	failure       *RenderError
}

func newJailFS(mem filesys.FileSystem, req *Request) *jailFS {
	return &jailFS{FileSystem: mem, req: req, rewritten: map[string][]byte{}, inheritedNS: map[string]string{}, remoteDirs: map[string]string{}, remotes: map[string]RemoteRecord{}}
}

func (j *jailFS) inside(p string) bool {
	c := filepath.Clean(p)
	if !filepath.IsAbs(c) {
		return true // relative to the in-memory FS's own root: resolved by it
	}
	for _, root := range []string{ArtifactRoot, RemoteRoot} {
		if c == root || strings.HasPrefix(c, root+"/") {
			return true
		}
	}
	if j.violation == "" {
		j.violation = c
	}
	return false
}

func (j *jailFS) Exists(p string) bool { return j.inside(p) && j.FileSystem.Exists(p) }
func (j *jailFS) IsDir(p string) bool  { return j.inside(p) && j.FileSystem.IsDir(p) }

func (j *jailFS) Open(p string) (filesys.File, error) {
	if !j.inside(p) {
		return nil, fmt.Errorf("open %s: %w", p, errOutside)
	}
	return j.FileSystem.Open(p)
}

func (j *jailFS) ReadDir(p string) ([]string, error) {
	if !j.inside(p) {
		return nil, fmt.Errorf("readdir %s: %w", p, errOutside)
	}
	return j.FileSystem.ReadDir(p)
}

func (j *jailFS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	if !j.inside(p) {
		return "", "", fmt.Errorf("'%s' %w", p, errOutside)
	}
	return j.FileSystem.CleanedAbs(p)
}

func (j *jailFS) ReadFile(p string) ([]byte, error) {
	if !j.inside(p) {
		return nil, fmt.Errorf("open %s: %w", p, errOutside)
	}
	data, err := j.FileSystem.ReadFile(p)
	if err != nil || !isKustomizationName(path.Base(p)) {
		return data, err
	}
	if out, ok := j.rewritten[p]; ok {
		return out, nil
	}
	out, err := j.rewrite(p, data)
	if err != nil {
		return nil, err
	}
	j.rewritten[p] = out
	return out, nil
}

func isKustomizationName(name string) bool {
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		if n == name {
			return true
		}
	}
	return false
}

var hostLike = regexp.MustCompile(`^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:[0-9]+)?/`)

// isRemote tells whether kustomize would fetch a `resources:` entry over the network.
func (j *jailFS) isRemote(entry, dir string) bool {
	for _, p := range []string{"http://", "https://", "git::", "ssh://", "git@", "file://", "gh:"} {
		if strings.HasPrefix(entry, p) {
			return true
		}
	}
	return hostLike.MatchString(entry) && !j.FileSystem.Exists(path.Join(dir, entry))
}

// rewrite returns the kustomization file as kustomize must see it. Unchanged bytes when
// nothing applies, so kustomize's own messages about the file stay its own.
func (j *jailFS) rewrite(file string, data []byte) ([]byte, error) {
	dir := path.Dir(file)
	k := map[string]any{}
	if err := yaml.Unmarshal(data, &k); err != nil || k == nil {
		return data, nil // kustomize reports it
	}
	changed := false
	{
		for _, field := range []string{"resources", "components", "bases"} {
			list, ok := k[field].([]any)
			if !ok {
				continue
			}
			for i, e := range list {
				entry, ok := e.(string)
				if !ok || !j.isRemote(entry, dir) {
					continue
				}
				local, err := j.resolve(entry, file, dir)
				if err != nil {
					return nil, err
				}
				list[i] = local
				changed = true
			}
		}
	}
	if file == j.rootOverrides {
		applyOverrides(k, j.req.Overrides)
		changed = true
	}
	// kustomize gives a chart without a namespace its kustomization's namespace, else the one
	// inherited from the kustomizations above it (target/kusttarget.go, helmRootNamespace).
	ns, _ := k["namespace"].(string)
	if ns == "" {
		ns = j.inheritedNS[dir]
	}
	if ns != "" {
		for _, field := range []string{"resources", "components", "bases"} {
			list, _ := k[field].([]any)
			for _, e := range list {
				if entry, ok := e.(string); ok {
					if sub := path.Join(dir, entry); j.FileSystem.IsDir(sub) {
						j.inheritedNS[sub] = ns
					}
				}
			}
		}
	}
	if charts, ok := k["helmCharts"].([]any); ok && len(charts) > 0 && j.req.EnableHelm {
		if err := j.inflate(k, charts, file, dir, ns); err != nil {
			return nil, err
		}
		changed = true
	}
	if !changed {
		return data, nil
	}
	out, err := yaml.Marshal(k)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (j *jailFS) resolve(entry, file, dir string) (string, error) {
	fail := func(msg string) error {
		j.failure = &RenderError{Kind: KindRemote, Message: msg, File: relToArtifact(file), URL: entry}
		return j.failure
	}
	if j.req.Resolve == nil {
		return "", fail(fmt.Sprintf("%s: remote entry %s: remote bases are disabled (no resolver)", relToArtifact(file), entry))
	}
	res, err := j.req.Resolve(entry, relToArtifact(file))
	if err != nil {
		return "", fail(err.Error())
	}
	if _, seen := j.remotes[entry]; !seen {
		j.remoteOrder = append(j.remoteOrder, entry)
	}
	j.remotes[entry] = RemoteRecord{URL: entry, Revision: res.Revision}
	id := safeID(res.ID)
	switch res.Kind {
	case "file":
		name := ".converge-remote-" + id + "-" + safeID(path.Base(entry))
		if !strings.HasSuffix(name, ".yaml") && !strings.HasSuffix(name, ".yml") && !strings.HasSuffix(name, ".json") {
			name += ".yaml"
		}
		if err := j.FileSystem.WriteFile(path.Join(dir, name), res.Data); err != nil {
			return "", err
		}
		return name, nil
	case "dir":
		base := path.Join(RemoteRoot, id)
		if _, known := j.remoteDirs[base]; !known {
			repo := entry
			if q := strings.Index(repo, "?"); q >= 0 {
				repo = repo[:q]
			}
			repo = strings.TrimRight(strings.TrimSuffix(strings.TrimRight(repo, "/"), strings.Trim(res.Path, "/")), "/")
			j.remoteDirs[base] = repo + "/"
		}
		if !j.FileSystem.Exists(base) {
			if err := j.FileSystem.MkdirAll(base); err != nil {
				return "", err
			}
			for _, f := range res.Files {
				if err := j.FileSystem.WriteFile(path.Join(base, path.Clean("/"+f.Name)), f.Data); err != nil {
					return "", err
				}
			}
		}
		target := path.Join(base, path.Clean("/"+res.Path))
		if !j.FileSystem.IsDir(target) {
			return "", fail(fmt.Sprintf("%s: remote base %s: no folder %q in the repository", relToArtifact(file), entry, res.Path))
		}
		rel, err := filepath.Rel(dir, target)
		if err != nil {
			return "", err
		}
		return rel, nil
	}
	return "", fail(fmt.Sprintf("%s: remote entry %s: the resolver returned kind %q", relToArtifact(file), entry, res.Kind))
}

func (j *jailFS) inflate(k map[string]any, charts []any, file, dir, namespace string) error {
	if j.req.Helm == nil {
		j.failure = &RenderError{Kind: KindHelm, File: relToArtifact(file), Field: "helmCharts", Message: fmt.Sprintf("%s: helmCharts: no Helm engine", relToArtifact(file))}
		return j.failure
	}
	resources, _ := k["resources"].([]any)
	for i, c := range charts {
		chart, _ := c.(map[string]any)
		if chart != nil && namespace != "" {
			if own, _ := chart["namespace"].(string); own == "" {
				chart["namespace"] = namespace
			}
		}
		req, _ := json.Marshal(map[string]any{
			"chart":             chart,
			"globals":           k["helmGlobals"],
			"kustomizationDir":  relToArtifact(dir),
			"kustomizationFile": relToArtifact(file),
		})
		out, err := j.req.Helm(req)
		if err != nil {
			j.failure = &RenderError{Kind: KindHelm, File: relToArtifact(file), Field: "helmCharts", Message: err.Error()}
			return j.failure
		}
		marked, err := markHelmGenerated(out)
		if err != nil {
			j.failure = &RenderError{Kind: KindHelm, File: relToArtifact(file), Field: "helmCharts", Message: fmt.Sprintf("%s: helmCharts: reading the chart's output: %v", relToArtifact(file), err)}
			return j.failure
		}
		name, _ := chart["name"].(string)
		fname := fmt.Sprintf(".converge-helm-%d-%s.yaml", i, safeID(name))
		if err := j.FileSystem.WriteFile(path.Join(dir, fname), marked); err != nil {
			return err
		}
		resources = append(resources, fname)
	}
	k["resources"] = resources
	delete(k, "helmCharts")
	delete(k, "helmGlobals")
	return nil
}

// markHelmGenerated annotates each object of a chart's output as kustomize's Helm generator
// does (config.kubernetes.io/helm-generated: "true"), so that the kustomization's
// `namespace:` leaves them to Helm; kustomize removes the annotation before output.
func markHelmGenerated(manifest string) ([]byte, error) {
	nodes, err := (&kio.ByteReader{Reader: bytes.NewBufferString(manifest), OmitReaderAnnotations: true}).Read()
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		if err := n.PipeE(kyaml.SetAnnotation(konfig.HelmGeneratedAnnotation, "true")); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	if err := (kio.ByteWriter{Writer: &buf}).Write(nodes); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func applyOverrides(k map[string]any, o *Overrides) {
	if o == nil {
		return
	}
	if o.Namespace != "" {
		k["namespace"] = o.Namespace
	}
	appendList := func(field string, v any) {
		b, _ := json.Marshal(v)
		var items []any
		_ = json.Unmarshal(b, &items)
		if len(items) == 0 {
			return
		}
		list, _ := k[field].([]any)
		k[field] = append(list, items...)
	}
	appendList("images", o.Images)
	appendList("patches", o.Patches)
	appendList("components", o.Components)
	appendList("labels", o.Labels)
	if len(o.CommonLabels) > 0 {
		labels, _ := k["commonLabels"].(map[string]any)
		if labels == nil {
			labels = map[string]any{}
		}
		for key, v := range o.CommonLabels {
			labels[key] = v
		}
		k["commonLabels"] = labels
	}
	if len(o.BuildMetadata) > 0 {
		list, _ := k["buildMetadata"].([]any)
		have := map[string]bool{}
		for _, v := range list {
			if s, ok := v.(string); ok {
				have[s] = true
			}
		}
		for _, v := range o.BuildMetadata {
			if !have[v] {
				list = append(list, v)
				have[v] = true
			}
		}
		k["buildMetadata"] = list
	}
}

func (j *jailFS) remoteRecords() []RemoteRecord {
	out := make([]RemoteRecord, 0, len(j.remoteOrder))
	for _, u := range j.remoteOrder {
		out = append(out, j.remotes[u])
	}
	return out
}

var unsafeID = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeID(s string) string {
	s = unsafeID.ReplaceAllString(s, "_")
	if s == "" || len(s) > 64 {
		sum := sha256.Sum256([]byte(s))
		return hex.EncodeToString(sum[:8])
	}
	return s
}
