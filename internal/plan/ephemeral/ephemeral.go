// Package ephemeral computes role metadata ("ephemeral metadata"): the
// labels and annotations a canary Rollout puts on pods while they are the
// canary (canaryMetadata) or the stable (stableMetadata), swapped on live
// pods when the role changes. What a ReplicaSet last received is recorded in
// its rollout.argoproj.io/ephemeral-metadata annotation, so the old keys can
// be removed without touching labels the user owns.
package ephemeral

import (
	"encoding/json"
	"maps"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Recorded reads the metadata a ReplicaSet was last given from its
// annotations; nil when none or unreadable.
func Recorded(annotations map[string]string) *v1alpha1.PodTemplateMetadata {
	raw, ok := annotations[v1alpha1.EphemeralMetadataAnnotation]
	if !ok {
		return nil
	}
	var m v1alpha1.PodTemplateMetadata
	if json.Unmarshal([]byte(raw), &m) != nil {
		return nil
	}
	return &m
}

// Encode is the annotation value recording m ("" for none).
func Encode(m *v1alpha1.PodTemplateMetadata) string {
	if m == nil || (len(m.Labels) == 0 && len(m.Annotations) == 0) {
		return ""
	}
	data, _ := json.Marshal(m)
	return string(data)
}

// Swap returns labels and annotations with the keys of old removed and those
// of desired set; the inputs are not modified.
func Swap(labels, annotations map[string]string, old, desired *v1alpha1.PodTemplateMetadata) (map[string]string, map[string]string) {
	return swap(labels, keys(old, true), values(desired, true)), swap(annotations, keys(old, false), values(desired, false))
}

func swap(in map[string]string, remove []string, set map[string]string) map[string]string {
	out := maps.Clone(in)
	if out == nil {
		out = map[string]string{}
	}
	for _, k := range remove {
		delete(out, k)
	}
	maps.Copy(out, set)
	return out
}

func keys(m *v1alpha1.PodTemplateMetadata, labels bool) []string {
	var out []string
	for k := range values(m, labels) {
		out = append(out, k)
	}
	return out
}

func values(m *v1alpha1.PodTemplateMetadata, labels bool) map[string]string {
	if m == nil {
		return nil
	}
	if labels {
		return m.Labels
	}
	return m.Annotations
}

// ForNew is the metadata a Rollout's new ReplicaSet should carry while a
// separate stable (or active) ReplicaSet serves: canaryMetadata for a
// canary, previewMetadata for blue-green; with no other version, the
// stable (active) metadata.
func ForNew(ro *v1alpha1.Rollout, separate bool) *v1alpha1.PodTemplateMetadata {
	if separate {
		return forPreview(ro)
	}
	return ForStable(ro)
}

// ForStable is the stableMetadata (canary) or activeMetadata (blue-green).
func ForStable(ro *v1alpha1.Rollout) *v1alpha1.PodTemplateMetadata {
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		return bg.ActiveMetadata
	}
	if c := ro.Spec.Strategy.Canary; c != nil {
		return c.StableMetadata
	}
	return nil
}

func forPreview(ro *v1alpha1.Rollout) *v1alpha1.PodTemplateMetadata {
	if bg := ro.Spec.Strategy.BlueGreen; bg != nil {
		return bg.PreviewMetadata
	}
	if c := ro.Spec.Strategy.Canary; c != nil {
		return c.CanaryMetadata
	}
	return nil
}
