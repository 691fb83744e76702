package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/cli/patch"
)

func init() { register(newUndoCommand) }

func newUndoCommand(o *Options) *cobra.Command {
	var toRevision int64
	cmd := &cobra.Command{
		Use:   "undo ROLLOUT_NAME",
		Short: "Undo a rollout",
		Long:  `Roll back to the previous revision, or to --to-revision: the rollout's pod template (or that of its workloadRef target) is replaced with that revision's.`,
		Example: `  # Undo a rollout
  kubectl argo rollouts undo guestbook

  # Undo a rollout to revision 3
  kubectl argo rollouts undo guestbook --to-revision=3`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			msg, err := runUndo(cmd.Context(), o, args[0], toRevision)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(o.Streams.Out, msg)
			return err
		},
	}
	cmd.Flags().Int64Var(&toRevision, "to-revision", 0, "The revision to rollback to. Default to 0 (last revision).")
	return cmd
}

// runUndo replaces the pod template of the rollout, or of its workloadRef
// target, with that of the ReplicaSet of toRevision, and says what it did.
func runUndo(ctx context.Context, o *Options, name string, toRevision int64) (string, error) {
	c, ro, err := lookupRollout(ctx, o, name)
	if err != nil {
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
