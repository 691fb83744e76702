package action

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/clientside/patch"
)

// Undo replaces the pod template of the rollout ns/name, or of its
// workloadRef target, with that of the ReplicaSet of toRevision (0: the
// previous one), and says what it did as the plugin prints it.
func Undo(ctx context.Context, c client.Client, ns, name string, toRevision int64) (string, error) {
	ro := &v1alpha1.Rollout{}
	if err := Get(ctx, c, "rollout", ns, name, ro); err != nil {
		return "", err
	}
	var rss appsv1.ReplicaSetList
	opts := []client.ListOption{client.InNamespace(ro.Namespace)}
	if ro.Spec.Selector != nil {
		sel, err := metav1.LabelSelectorAsSelector(ro.Spec.Selector)
		if err != nil {
			return "", fmt.Errorf("rollout %q: spec.selector: %w", name, err)
		}
		opts = append(opts, client.MatchingLabelsSelector{Selector: sel})
	}
	if err := c.List(ctx, &rss, opts...); err != nil {
		return "", fmt.Errorf("list the ReplicaSets of rollout %q: %w", name, err)
	}
	rs, err := patch.Revision(ro, rss.Items, toRevision)
	if err != nil {
		return "", err
	}
	// The template to compare with and the object to patch: the rollout,
	// or the workload it takes its template from.
	target, current := client.Object(ro), ro.Spec.Template
	kind := "Rollout"
	if ref := ro.Spec.WorkloadRef; ref != nil {
		kind = ref.Kind
		if target, current, err = workloadTemplate(ctx, c, ro.Namespace, ref); err != nil {
			return "", fmt.Errorf("rollout %q: %w", name, err)
		}
	}
	same, err := patch.SameTemplate(current, rs.Spec.Template)
	if err != nil {
		return "", err
	}
	if same {
		return fmt.Sprintf("skipped rollback (current template already matches revision %d)", toRevision), nil
	}
	patches, err := patch.Undo(kind, rs.Spec.Template)
	if err != nil {
		return "", err
	}
	if err := patch.Send(ctx, c, target, patches); err != nil {
		return "", fmt.Errorf("failed restoring revision %d: %w", toRevision, err)
	}
	return fmt.Sprintf("rollout '%s' undo", ro.Name), nil
}

// workloadTemplate reads a Rollout's workloadRef target and its pod
// template.
func workloadTemplate(ctx context.Context, c client.Client, ns string, ref *v1alpha1.ObjectRef) (client.Object, corev1.PodTemplateSpec, error) {
	u, err := workloadRefTarget(ctx, c, ns, map[string]any{"kind": ref.Kind, "name": ref.Name, "apiVersion": ref.APIVersion})
	if err != nil {
		return nil, corev1.PodTemplateSpec{}, err
	}
	raw, _, err := unstructured.NestedMap(u.Object, patch.TemplatePath(ref.Kind)...)
	if err != nil {
		return nil, corev1.PodTemplateSpec{}, fmt.Errorf("%s %q: read its template: %w", ref.Kind, ref.Name, err)
	}
	var tmpl corev1.PodTemplateSpec
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &tmpl); err != nil {
		return nil, corev1.PodTemplateSpec{}, fmt.Errorf("%s %q: read its template: %w", ref.Kind, ref.Name, err)
	}
	return u, tmpl, nil
}
