package main

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// Kinds of kustomize's own failures, recognised from its messages.
const (
	KindResourceNotFound     = "RESOURCE_NOT_FOUND"
	KindCycle                = "CYCLE"
	KindInvalidKustomization = "INVALID_KUSTOMIZATION"
	KindPatchNoMatch         = "PATCH_NO_MATCH"
	KindLoadRestricted       = "LOAD_RESTRICTED"
)

var (
	notFoundRe  = regexp.MustCompile(`no such file or directory|must resolve to a file|not a valid directory|file is not directory|does not exist`)
	patchMissRe = regexp.MustCompile(`no resource matches strategic merge patch|no matches for (?:Id|target)|failed to find unique target for patch|unable to find patch target`)
	fieldRe     = regexp.MustCompile(`(?:unknown field|field) "([^"]+)"`)
)

// nameRemotes replaces the folders resolved remote bases were placed in by their URLs, so
// that a message about a file of a remote base names where it came from.
func (j *jailFS) nameRemotes(msg string) string {
	for _, base := range sortedKeys(j.remoteDirs) {
		msg = strings.ReplaceAll(msg, base, j.remoteDirs[base])
	}
	return msg
}

// classify turns kustomize's error into a RenderError with a kind, the kustomization file it
// concerns and, where kustomize names one, the field.
func (j *jailFS) classify(err error) error {
	if j.failure != nil {
		return j.failure
	}
	var re *RenderError
	if errors.As(err, &re) {
		return re
	}
	raw := err.Error()
	root := path.Join(ArtifactRoot, path.Clean("/"+j.req.Path))
	file := j.nameRemotes(relToArtifact(kustomizationFileOf(j.FileSystem, raw, root)))
	msg := stripRoots(j.nameRemotes(raw))
	out := &RenderError{Kind: KindBuild, Message: msg, File: file}
	switch {
	case errors.Is(err, errOutside) || (j.violation != "" && (notFoundRe.MatchString(raw) || strings.Contains(raw, errOutside.Error()))):
		out.Kind = KindOutsideRoot
		out.Message = fmt.Sprintf("%s: %s leaves the artifact (kustomize: %s)", file, j.violation, msg)
	case strings.Contains(raw, "cycle detected"):
		out.Kind = KindCycle
	case strings.Contains(raw, "security; file"):
		out.Kind = KindLoadRestricted
	case invalidKustRe.MatchString(raw) || unknownFieldRe.MatchString(raw):
		out.Kind = KindInvalidKustomization
		if m := fieldRe.FindStringSubmatch(raw); m != nil {
			out.Field = m[1]
		}
	case patchMissRe.MatchString(raw):
		out.Kind = KindPatchNoMatch
		out.Field = "patches"
	case notFoundRe.MatchString(raw) && strings.Contains(raw, "accumulat"):
		out.Kind = KindResourceNotFound
		out.Field = "resources"
	}
	if strings.HasPrefix(out.Message, file+": ") || out.Kind == KindOutsideRoot {
		return out
	}
	out.Message = file + ": " + out.Message
	return out
}
