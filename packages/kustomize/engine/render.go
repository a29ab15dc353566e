package main

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/kustomize/kyaml/openapi"
)

// ArtifactRoot is where the artifact's files appear in the engine's in-memory file system.
// Paths in kustomize's messages start with it; the host strips it.
const ArtifactRoot = "/artifact"

// RemoteRoot holds the remote bases the host resolved, one folder per base.
const RemoteRoot = "/remote"

// Error kinds, mapped one to one onto KustomizeError codes by the host.
const (
	KindRequest         = "REQUEST"
	KindBuild           = "BUILD"
	KindOutsideRoot     = "PATH_OUTSIDE_ARTIFACT"
	KindRemote          = "REMOTE_FAILED"
	KindHelm            = "HELM_FAILED"
	KindOutputLimit     = "OUTPUT_LIMIT"
	KindNoKustomization = "NO_KUSTOMIZATION"
	KindInternal        = "INTERNAL"
)

// RenderError is a failed render: a kind (above), kustomize's message (paths relative to
// the artifact), and the kustomization file it concerns when known.
type RenderError struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	File    string `json:"file,omitempty"`
	Field   string `json:"field,omitempty"`
	URL     string `json:"url,omitempty"`
}

func (e *RenderError) Error() string { return e.Message }

// File is one artifact file, named relative to the artifact root with '/' separators.
type File struct {
	Name string
	Data []byte
}

// Overrides are kustomization fields given in code (Flux's Kustomization spec), merged into
// the root kustomization before the build, as Flux does.
type Overrides struct {
	Namespace     string            `json:"namespace,omitempty"`
	Images        []types.Image     `json:"images,omitempty"`
	Patches       []types.Patch     `json:"patches,omitempty"`
	Components    []string          `json:"components,omitempty"`
	BuildMetadata []string          `json:"buildMetadata,omitempty"`
	CommonLabels  map[string]string `json:"commonLabels,omitempty"`
	Labels        []types.Label     `json:"labels,omitempty"`
}

// Request is one `kustomize build`.
type Request struct {
	// Path of the kustomization folder, relative to the artifact root.
	Path string `json:"path"`
	// "rootOnly" (kustomize's LoadRestrictionsRootOnly) or "none" (any file in the artifact).
	LoadRestrictor string `json:"loadRestrictor"`
	EnableHelm     bool   `json:"enableHelm"`
	// "" (kustomize build's default), "legacy" or "none".
	Reorder string `json:"reorder"`
	// Generate a kustomization from the folder's YAML files when it has none (as Flux does).
	GenerateKustomization bool       `json:"generateKustomization"`
	Overrides             *Overrides `json:"overrides,omitempty"`
	MaxOutputBytes        int64      `json:"maxOutputBytes"`

	Files []File `json:"-"`
	// Resolve fetches a remote base or file (host callback); nil: remote entries fail.
	Resolve Resolver `json:"-"`
	// Helm inflates a helmCharts entry (host callback); nil: helmCharts fail.
	Helm HelmInflater `json:"-"`
}

// Result is the build's output: `kustomize build`'s standard output, byte for byte.
type Result struct {
	Yaml    string         `json:"yaml"`
	Remotes []RemoteRecord `json:"remotes"`
}

// builtinSchemaVersion is how kyaml names its builtin schema before any build changed it.
var builtinSchemaVersion = openapi.GetSchemaVersion()

// Render runs kustomize's krusty on the request's files in memory.
func Render(_ context.Context, req *Request) (*Result, error) {
	mem := filesys.MakeFsInMemory()
	if err := mem.MkdirAll(ArtifactRoot); err != nil {
		return nil, err
	}
	for _, f := range req.Files {
		name := path.Clean("/" + f.Name)
		if err := mem.WriteFile(ArtifactRoot+name, f.Data); err != nil {
			return nil, &RenderError{Kind: KindRequest, Message: fmt.Sprintf("cannot place %s: %v", f.Name, err)}
		}
	}
	root := path.Join(ArtifactRoot, path.Clean("/"+req.Path))
	fs := newJailFS(mem, req)
	if !mem.IsDir(root) {
		return nil, &RenderError{Kind: KindNoKustomization, Message: fmt.Sprintf("%s: no such folder in the artifact", cleanRel(req.Path))}
	}
	kfile := findKustomizationFile(mem, root)
	if kfile == "" {
		if !req.GenerateKustomization {
			return nil, &RenderError{Kind: KindNoKustomization, Message: fmt.Sprintf("%s: no kustomization.yaml, kustomization.yml or Kustomization in the folder", cleanRel(req.Path))}
		}
		gen, err := generateKustomization(mem, root)
		if err != nil {
			return nil, err
		}
		kfile = path.Join(root, konfig.DefaultKustomizationFileName())
		if err := mem.WriteFile(kfile, gen); err != nil {
			return nil, err
		}
	}
	if req.Overrides != nil {
		fs.rootOverrides = kfile
	}

	opts := krusty.MakeDefaultOptions()
	switch req.Reorder {
	case "":
		opts.Reorder = krusty.ReorderOptionUnspecified
	case "legacy":
		opts.Reorder = krusty.ReorderOptionLegacy
	case "none":
		opts.Reorder = krusty.ReorderOptionNone
	default:
		return nil, &RenderError{Kind: KindRequest, Message: fmt.Sprintf("unknown reorder %q", req.Reorder)}
	}
	switch req.LoadRestrictor {
	case "", "rootOnly":
		opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	case "none":
		opts.LoadRestrictions = types.LoadRestrictionsNone
	default:
		return nil, &RenderError{Kind: KindRequest, Message: fmt.Sprintf("unknown loadRestrictor %q", req.LoadRestrictor)}
	}
	// helmCharts are inflated by the host before kustomize sees them (see jailfs.go); kustomize
	// itself must not try to run a helm binary.
	opts.PluginConfig.HelmConfig.Enabled = false

	// kustomize keeps the OpenAPI schema in a global, and a build without `openapi:` does not
	// undo the custom schema of the build before it (kyaml's SetSchema leaves customSchema
	// set): one `kustomize build` per process never notices, an engine that serves many
	// does. Reset it whenever the previous build left anything but the builtin schema.
	if openapi.GetSchemaVersion() != builtinSchemaVersion {
		openapi.ResetOpenAPI()
	}
	m, err := krusty.MakeKustomizer(opts).Run(fs, root)
	if err != nil {
		return nil, fs.classify(err)
	}
	if req.MaxOutputBytes > 0 {
		// Bound the work before serializing: a size estimate from the objects' count.
		if int64(m.Size())*64 > req.MaxOutputBytes {
			return nil, outputLimit(req.MaxOutputBytes, fmt.Sprintf("%d objects", m.Size()))
		}
	}
	out, err := m.AsYaml()
	if err != nil {
		return nil, &RenderError{Kind: KindBuild, Message: err.Error()}
	}
	if req.MaxOutputBytes > 0 && int64(len(out)) > req.MaxOutputBytes {
		return nil, outputLimit(req.MaxOutputBytes, fmt.Sprintf("%d bytes", len(out)))
	}
	return &Result{Yaml: string(out), Remotes: fs.remoteRecords()}, nil
}

func outputLimit(max int64, what string) error {
	return &RenderError{Kind: KindOutputLimit, Message: fmt.Sprintf("the build produced %s, more than maxOutputBytes (%d bytes)", what, max)}
}

func findKustomizationFile(fs filesys.FileSystem, dir string) string {
	for _, n := range konfig.RecognizedKustomizationFileNames() {
		if p := path.Join(dir, n); fs.Exists(p) && !fs.IsDir(p) {
			return p
		}
	}
	return ""
}

// stripRoots makes a kustomize message name artifact paths as the user knows them.
func stripRoots(msg string) string {
	msg = strings.ReplaceAll(msg, ArtifactRoot+"/", "")
	return strings.ReplaceAll(msg, ArtifactRoot, ".")
}

func cleanRel(p string) string {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if p == "" {
		return "."
	}
	return p
}

var (
	recursedRe     = regexp.MustCompile(`recursed (?:accumulation|merging from) of path '([^']+)'`)
	unknownFieldRe = regexp.MustCompile(`unknown field "([^"]+)"`)
	invalidKustRe  = regexp.MustCompile(`invalid Kustomization: `)
)

// kustomizationFileOf names the kustomization file a kustomize error concerns: the innermost
// base it recursed into, or the build's root.
func kustomizationFileOf(fs filesys.FileSystem, msg, root string) string {
	dir := root
	if all := recursedRe.FindAllStringSubmatch(msg, -1); len(all) > 0 {
		dir = all[len(all)-1][1]
	}
	if f := findKustomizationFile(fs, dir); f != "" {
		return f
	}
	return path.Join(dir, konfig.DefaultKustomizationFileName())
}

func relToArtifact(p string) string {
	if strings.HasPrefix(p, ArtifactRoot+"/") {
		return strings.TrimPrefix(p, ArtifactRoot+"/")
	}
	return p
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var errOutside = errors.New("path leaves the artifact")
