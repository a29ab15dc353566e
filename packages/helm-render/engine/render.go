// Package main is the Converge Helm engine: Helm v4's own chart loader, values
// coalescing, template engine and manifest sorter, driven from in-memory files.
// It is compiled to WebAssembly (GOOS=js GOARCH=wasm) and called from Node; the
// rendering pipeline below is plain Go so that it is tested natively as well.
//
// The pipeline mirrors `helm template` (pkg/cmd/template.go, runInstall in
// pkg/cmd/install.go, Install.RunWithContext in pkg/action/install.go and
// Configuration.renderResources in pkg/action/action.go) for the client-only
// dry-run path, minus everything that talks to a cluster or a release store.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/template"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	c2load "helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	release "helm.sh/helm/v4/pkg/release/v1"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	"sigs.k8s.io/yaml"
)

const notesFileSuffix = "NOTES.txt"

// File is one file of the chart directory, named relative to the chart root with
// forward slashes (e.g. "templates/deployment.yaml", "charts/redis/Chart.yaml").
type File struct {
	Name string
	Data []byte
}

// ValuesSource is one values document (YAML or JSON), merged in order like
// `helm template -f a.yaml -f b.yaml`.
type ValuesSource struct {
	Name string `json:"name"`
	Data []byte `json:"-"`
}

// Request describes one render.
type Request struct {
	Files                []File         `json:"-"`
	Values               []ValuesSource `json:"values"`
	ReleaseName          string         `json:"releaseName"`
	Namespace            string         `json:"namespace"`
	KubeVersion          string         `json:"kubeVersion"`
	APIVersions          []string       `json:"apiVersions"`
	IncludeCRDs          bool           `json:"includeCRDs"`
	SkipTests            bool           `json:"skipTests"`
	DisableHooks         bool           `json:"disableHooks"`
	IsUpgrade            bool           `json:"isUpgrade"`
	SkipSchemaValidation bool           `json:"skipSchemaValidation"`
	EnableDNS            bool           `json:"enableDNS"`
	UseLookup            bool           `json:"useLookup"`
	// MaxOutputBytes bounds the rendered output (0 = unbounded).
	MaxOutputBytes int64 `json:"maxOutputBytes"`
	// Lookup, when set, answers the `lookup` template function; otherwise it returns
	// empty results, as in `helm template`.
	Lookup LookupFunc `json:"-"`
}

// LookupFunc answers `lookup apiVersion kind namespace name` (name "" lists).
// A missing object is an empty map, not an error, as in Helm.
type LookupFunc func(apiVersion, kind, namespace, name string) (map[string]any, error)

// Result is what a successful render returns.
type Result struct {
	// Manifest is byte for byte what `helm template` prints on stdout.
	Manifest string `json:"manifest"`
	// Notes is the rendered NOTES.txt of the top-level chart.
	Notes    string   `json:"notes"`
	Warnings []string `json:"warnings"`
	// Chart metadata, for error messages and events.
	ChartName    string `json:"chartName"`
	ChartVersion string `json:"chartVersion"`
}

// Error kinds, mapped to ConvergeError codes on the JS side.
const (
	KindChartInvalid      = "CHART_INVALID"
	KindDependencyMissing = "DEPENDENCY_MISSING"
	KindValuesInvalid     = "VALUES_INVALID"
	KindSchema            = "VALUES_SCHEMA"
	KindTemplate          = "TEMPLATE"
	KindManifest          = "MANIFEST_INVALID"
	KindKubeVersion       = "KUBE_VERSION_INCOMPATIBLE"
	KindOutputTooLarge    = "OUTPUT_TOO_LARGE"
	KindRequest           = "REQUEST_INVALID"
	KindInternal          = "INTERNAL"
)

// RenderError is a failed render, classified by Kind.
type RenderError struct {
	Kind    string
	Message string
	// Output is partial output (the invalid YAML, as `helm template --debug` shows it).
	Output string
}

func (e *RenderError) Error() string { return e.Message }

func fail(kind string, err error) *RenderError {
	return &RenderError{Kind: kind, Message: err.Error()}
}

// Render renders a chart the way `helm template` does.
func Render(ctx context.Context, req *Request) (res *Result, rerr error) {
	defer func() {
		if r := recover(); r != nil {
			res, rerr = nil, &RenderError{Kind: KindInternal, Message: fmt.Sprintf("helm engine panic: %v", r)}
		}
	}()
	res = &Result{Warnings: []string{}}

	if req.ReleaseName == "" {
		return nil, fail(KindRequest, errors.New("releaseName is required"))
	}
	if req.Namespace == "" {
		req.Namespace = "default"
	}

	// runInstall: merge the user's values files in order (values.Options.MergeValues).
	vals := map[string]any{}
	for _, v := range req.Values {
		current, err := c2load.LoadValues(bytes.NewReader(v.Data))
		if err != nil {
			return nil, fail(KindValuesInvalid, fmt.Errorf("failed to parse %s: %w", v.Name, err))
		}
		vals = c2load.MergeMaps(vals, current)
	}

	// runInstall: loader.Load(chartPath).
	chrt, err := loadChart(req.Files)
	if err != nil {
		return nil, err
	}
	res.ChartName = chrt.Name()
	if chrt.Metadata != nil {
		res.ChartVersion = chrt.Metadata.Version
	}

	// runInstall: checkIfInstallable.
	switch chrt.Metadata.Type {
	case "", "application":
	default:
		return nil, fail(KindChartInvalid, fmt.Errorf("%s charts are not installable", chrt.Metadata.Type))
	}
	if chrt.Metadata.Deprecated {
		res.Warnings = append(res.Warnings, "this chart is deprecated")
	}
	// runInstall: action.CheckDependencies.
	if reqs := chrt.Metadata.Dependencies; len(reqs) > 0 {
		var missing []string
	outer:
		for _, r := range reqs {
			for _, d := range chrt.Dependencies() {
				if d.Name() == r.Name {
					continue outer
				}
			}
			missing = append(missing, r.Name)
		}
		if len(missing) > 0 {
			return nil, fail(KindDependencyMissing, fmt.Errorf("an error occurred while checking for chart dependencies. You may need to run 'helm dependency build' to fetch missing dependencies: found in Chart.yaml, but missing in charts/ directory: %s", strings.Join(missing, ", ")))
		}
	}

	// Install.RunWithContext.
	if err := chartutil.ValidateReleaseName(req.ReleaseName); err != nil {
		return nil, fail(KindRequest, fmt.Errorf("release name check failed: %w", fmt.Errorf("release name %q: %w", req.ReleaseName, err)))
	}
	if err := chartutil.ProcessDependencies(chrt, vals); err != nil {
		return nil, fail(KindChartInvalid, fmt.Errorf("chart dependencies processing failed: %w", err))
	}

	caps := common.DefaultCapabilities.Copy()
	if req.KubeVersion != "" {
		kv, err := common.ParseKubeVersion(req.KubeVersion)
		if err != nil {
			return nil, fail(KindRequest, fmt.Errorf("invalid kube version '%s': %w", req.KubeVersion, err))
		}
		caps.KubeVersion = *kv
	}
	caps.APIVersions = append(caps.APIVersions, req.APIVersions...)

	options := common.ReleaseOptions{
		Name:      req.ReleaseName,
		Namespace: req.Namespace,
		Revision:  1,
		IsInstall: !req.IsUpgrade,
		IsUpgrade: req.IsUpgrade,
	}
	valuesToRender, err := util.ToRenderValuesWithSchemaValidation(chrt, vals, options, caps, req.SkipSchemaValidation)
	if err != nil {
		kind := KindValuesInvalid
		if strings.Contains(err.Error(), "schema") {
			kind = KindSchema
		}
		return nil, fail(kind, err)
	}

	hooks, manifestDoc, notes, err := renderResources(ctx, chrt, valuesToRender, caps, req)
	if err != nil {
		if re, ok := err.(*RenderError); ok {
			if manifestDoc != nil {
				re.Output = manifestDoc.String()
			}
			return nil, re
		}
		return nil, fail(KindInternal, err)
	}
	res.Notes = notes

	// pkg/cmd/template.go: the manifest, then the hooks.
	var out strings.Builder
	out.WriteString(strings.TrimSpace(manifestDoc.String()))
	out.WriteString("\n")
	if !req.DisableHooks {
		for _, h := range hooks {
			if req.SkipTests && slices.Contains(h.Events, release.HookTest) {
				continue
			}
			fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", h.Path, h.Manifest)
		}
	}
	if req.MaxOutputBytes > 0 && int64(out.Len()) > req.MaxOutputBytes {
		return nil, fail(KindOutputTooLarge, fmt.Errorf("rendered output is %d bytes, more than the limit of %d bytes", out.Len(), req.MaxOutputBytes))
	}
	res.Manifest = out.String()
	return res, nil
}

// renderResources is Configuration.renderResources for `helm template`: no
// post-renderer, no output dir, no cluster.
func renderResources(ctx context.Context, ch *chart.Chart, values common.Values, caps *common.Capabilities, req *Request) ([]*release.Hook, *bytes.Buffer, string, error) {
	var hs []*release.Hook
	b := bytes.NewBuffer(nil)

	if ch.Metadata.KubeVersion != "" {
		if !chartutil.IsCompatibleRange(ch.Metadata.KubeVersion, caps.KubeVersion.String()) {
			return hs, b, "", fail(KindKubeVersion, fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes %s", ch.Metadata.KubeVersion, caps.KubeVersion.Version))
		}
	}

	var e engine.Engine
	e.EnableDNS = req.EnableDNS
	if req.Lookup != nil {
		e.CustomTemplateFuncs = template.FuncMap{"lookup": req.Lookup}
	}
	files, err := e.RenderWithContext(ctx, ch, values)
	if err != nil {
		return hs, b, "", fail(KindTemplate, err)
	}
	if req.MaxOutputBytes > 0 {
		var total int64
		for _, v := range files {
			total += int64(len(v))
		}
		if total > req.MaxOutputBytes {
			return hs, b, "", fail(KindOutputTooLarge, fmt.Errorf("rendered templates are %d bytes, more than the limit of %d bytes", total, req.MaxOutputBytes))
		}
	}

	var notesBuffer bytes.Buffer
	for k, v := range files {
		if strings.HasSuffix(k, notesFileSuffix) {
			if k == ch.Name()+"/templates/"+notesFileSuffix {
				if notesBuffer.Len() > 0 {
					notesBuffer.WriteString("\n")
				}
				notesBuffer.WriteString(v)
			}
			delete(files, k)
		}
	}
	notes := notesBuffer.String()

	hs, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		for name, content := range files {
			if strings.TrimSpace(content) == "" {
				continue
			}
			fmt.Fprintf(b, "---\n# Source: %s\n%s\n", name, content)
		}
		return hs, b, "", fail(KindManifest, err)
	}

	if req.IncludeCRDs {
		for _, crd := range ch.CRDObjects() {
			fmt.Fprintf(b, "---\n# Source: %s\n%s\n", crd.Filename, string(crd.File.Data))
		}
	}
	for _, m := range manifests {
		fmt.Fprintf(b, "---\n# Source: %s\n%s\n", m.Name, m.Content)
	}
	return hs, b, notes, nil
}

// chartBase detects the chart API version, like pkg/chart/loader.
type chartBase struct {
	APIVersion string `json:"apiVersion,omitempty"`
}

// loadChart is pkg/chart/loader.LoadDir over in-memory files.
func loadChart(in []File) (*chart.Chart, error) {
	files, err := chartFiles(in)
	if err != nil {
		return nil, err
	}
	var chartYAML []byte
	for _, f := range files {
		if f.Name == "Chart.yaml" {
			chartYAML = f.Data
		}
	}
	if chartYAML == nil {
		return nil, fail(KindChartInvalid, errors.New("unable to detect chart: Chart.yaml not found"))
	}
	c := new(chartBase)
	if err := yaml.Unmarshal(chartYAML, c); err != nil {
		return nil, fail(KindChartInvalid, fmt.Errorf("cannot load Chart.yaml: %w", err))
	}
	switch c.APIVersion {
	case chart.APIVersionV1, chart.APIVersionV2, "":
	case "v3":
		// Install.RunWithContext only accepts v2 charts in Helm 4.
		return nil, fail(KindChartInvalid, errors.New("invalid chart apiVersion"))
	default:
		return nil, fail(KindChartInvalid, errors.New("unsupported chart version"))
	}
	chrt, err := c2load.LoadFiles(files)
	if err != nil {
		return nil, fail(KindChartInvalid, err)
	}
	return chrt, nil
}

// chartFiles applies .helmignore (and Helm's default ignores), strips UTF-8 BOMs,
// enforces Helm's size budget and orders files as the directory walker does.
func chartFiles(in []File) ([]*archive.BufferedFile, error) {
	rules, err := ignoreRules(in)
	if err != nil {
		return nil, err
	}
	sorted := slices.Clone(in)
	slices.SortFunc(sorted, func(a, b File) int { return compareWalkOrder(a.Name, b.Name) })

	budget := archive.MaxDecompressedChartSize
	out := make([]*archive.BufferedFile, 0, len(sorted))
	for _, f := range sorted {
		name := strings.TrimPrefix(f.Name, "./")
		if name == "" || strings.HasPrefix(name, "/") || slices.Contains(strings.Split(name, "/"), "..") {
			return nil, fail(KindRequest, fmt.Errorf("invalid file name %q", f.Name))
		}
		if ignored(rules, name) {
			continue
		}
		if int64(len(f.Data)) > budget {
			return nil, fail(KindChartInvalid, fmt.Errorf("chart exceeds maximum decompressed size of %d bytes", archive.MaxDecompressedChartSize))
		}
		budget -= int64(len(f.Data))
		out = append(out, &archive.BufferedFile{Name: name, Data: bytes.TrimPrefix(f.Data, utf8bom)})
	}
	return out, nil
}

var utf8bom = []byte{0xEF, 0xBB, 0xBF}

// compareWalkOrder orders paths like filepath.Walk: lexically, directory by directory.
func compareWalkOrder(a, b string) int {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if c := strings.Compare(as[i], bs[i]); c != 0 {
			return c
		}
	}
	return len(as) - len(bs)
}
