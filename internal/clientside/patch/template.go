package patch

import (
	"encoding/json"
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Revision is the ReplicaSet of ro (among rss, which may hold others) for
// `undo --to-revision`: the one annotated with toRevision, or for 0 the
// one before the latest.
func Revision(ro metav1.Object, rss []appsv1.ReplicaSet, toRevision int64) (*appsv1.ReplicaSet, error) {
	var latest, previous *appsv1.ReplicaSet
	latestRev, previousRev := int64(-1), int64(-1)
	for i := range rss {
		rs := &rss[i]
		if !metav1.IsControlledBy(rs, ro) {
			continue
		}
		var rev int64
		if s, ok := rs.Annotations[v1alpha1.RevisionAnnotation]; ok {
			var err error
			// A ReplicaSet with a garbled revision cannot be asked for by
			// number, and is not a candidate for "previous" either.
			if rev, err = strconv.ParseInt(s, 10, 64); err != nil {
				continue
			}
		}
		switch {
		case toRevision > 0:
			if rev == toRevision {
				return rs, nil
			}
		case rev > latestRev:
			previous, previousRev = latest, latestRev
			latest, latestRev = rs, rev
		case rev > previousRev:
			previous, previousRev = rs, rev
		}
	}
	if toRevision > 0 {
		return nil, fmt.Errorf("unable to find specified revision %d in history", toRevision)
	}
	if previous == nil {
		return nil, fmt.Errorf("no revision found for rollout %q", ro.GetName())
	}
	return previous, nil
}

// SameTemplate reports whether current already is revision's template, the
// pod-template hash label aside: `undo` then has nothing to do. Fields set
// in revision but unset in current (defaults the API server filled in on
// the ReplicaSet) do not count as differences.
func SameTemplate(current, revision corev1.PodTemplateSpec) (bool, error) {
	cur, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&current)
	if err != nil {
		return false, fmt.Errorf("convert the current template: %w", err)
	}
	rev, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&revision)
	if err != nil {
		return false, fmt.Errorf("convert the revision's template: %w", err)
	}
	for _, m := range []map[string]any{cur, rev} {
		unstructured.RemoveNestedField(m, "metadata", "labels", v1alpha1.DefaultRolloutUniqueLabelKey)
	}
	return equality.Semantic.DeepDerivative(cur, rev), nil
}

// Undo is the JSON patch of `undo`: it replaces the pod template of the
// object of kind (Rollout, or the Deployment, ReplicaSet or PodTemplate
// a Rollout's workloadRef names) with tmpl, without the pod-template hash
// label, which the controller adds to the ReplicaSets it creates.
func Undo(kind string, tmpl corev1.PodTemplateSpec) ([]Patch, error) {
	tmpl = *tmpl.DeepCopy()
	delete(tmpl.Labels, v1alpha1.DefaultRolloutUniqueLabelKey)
	path := "/spec/template"
	if kind == "PodTemplate" {
		// A PodTemplate has its template at the top, not under spec.
		path = "/template"
	}
	body, err := json.Marshal([]map[string]any{{"op": "replace", "path": path, "value": tmpl}})
	if err != nil {
		return nil, fmt.Errorf("encode the undo patch: %w", err)
	}
	return []Patch{{Type: types.JSONPatchType, Body: body}}, nil
}

// TemplatePath is where the pod template lives in an object of kind.
func TemplatePath(kind string) []string {
	if kind == "PodTemplate" {
		return []string{"template"}
	}
	return []string{"spec", "template"}
}

// SetImage is `set image`'s change to obj, an object of kind as read from
// the API server: every init, regular and ephemeral container named
// container (or every one, for "*") gets image. It fails if none matched.
func SetImage(obj map[string]any, kind, container, image string) error {
	found := false
	podSpec := append(TemplatePath(kind), "spec")
	for _, field := range []string{"initContainers", "containers", "ephemeralContainers"} {
		list, ok, err := unstructured.NestedFieldNoCopy(obj, append(podSpec, field)...)
		if err != nil {
			return fmt.Errorf("read %s: %w", field, err)
		}
		if !ok {
			continue
		}
		items, ok := list.([]any)
		if !ok {
			return fmt.Errorf("%s is %T, not a list", field, list)
		}
		for _, item := range items {
			c, ok := item.(map[string]any)
			if !ok {
				continue
			}
			if name, _, _ := unstructured.NestedString(c, "name"); name == container || container == "*" {
				c["image"] = image
				found = true
			}
		}
	}
	if !found {
		return fmt.Errorf("unable to find container named %q", container)
	}
	return nil
}
