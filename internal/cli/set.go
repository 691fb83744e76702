package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/cli/patch"
)

func init() { register(newSetCommand) }

// setImageAttempts bounds the read-modify-update loop of set image when
// the controller or another client writes the object in between.
const setImageAttempts = 5

func newSetCommand(o *Options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "set COMMAND",
		Short: "Update various values on resources",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "image ROLLOUT_NAME CONTAINER=IMAGE",
		Short: "Update the image of a rollout",
		Long: `Set the image of the rollout's containers (init, regular and ephemeral) named CONTAINER, or of all of them for '*'.
A rollout with a workloadRef has its referenced Deployment, ReplicaSet or PodTemplate updated instead.`,
		Example: `  # Set rollout image
  kubectl argo rollouts set image my-rollout www=image:v2`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			container, image, ok := strings.Cut(args[1], "=")
			if !ok || container == "" || image == "" || strings.Contains(image, "=") {
				return fmt.Errorf("%q is not CONTAINER=IMAGE", args[1])
			}
			var (
				obj *unstructured.Unstructured
				err error
			)
			for attempt := 1; attempt <= setImageAttempts; attempt++ {
				obj, err = runSetImage(cmd.Context(), o, args[0], container, image)
				if !apierrors.IsConflict(err) {
					break
				}
			}
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(o.Streams.Out, "%s %q image updated\n", strings.ToLower(obj.GetKind()), obj.GetName())
			return err
		},
	})
	return cmd
}

// runSetImage reads the rollout (or its workloadRef target) as unstructured,
// so fields this build does not know survive the update, changes the
// image and updates it.
func runSetImage(ctx context.Context, o *Options, name, container, image string) (*unstructured.Unstructured, error) {
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("Rollout"))
	c, err := lookup(ctx, o, "rollout", name, obj)
	if err != nil {
		return nil, err
	}
	if ref, found, _ := unstructured.NestedMap(obj.Object, "spec", "workloadRef"); found {
		if obj, err = workloadRefTarget(ctx, c, obj.GetNamespace(), ref); err != nil {
			return nil, fmt.Errorf("rollout %q: %w", name, err)
		}
	}
	if err := patch.SetImage(obj.Object, obj.GetKind(), container, image); err != nil {
		return nil, fmt.Errorf("%s %q: %w", strings.ToLower(obj.GetKind()), obj.GetName(), err)
	}
	if err := c.Update(ctx, obj); err != nil {
		return nil, fmt.Errorf("update %s %q: %w", strings.ToLower(obj.GetKind()), obj.GetName(), err)
	}
	return obj, nil
}

// workloadRefTarget reads the object a Rollout's spec.workloadRef names.
func workloadRefTarget(ctx context.Context, c client.Client, ns string, ref map[string]any) (*unstructured.Unstructured, error) {
	kind, _ := ref["kind"].(string)
	name, _ := ref["name"].(string)
	gvk, err := workloadRefGVK(kind, ref["apiVersion"])
	if err != nil {
		return nil, err
	}
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(gvk)
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("its workloadRef %s %q not found in namespace %q", kind, name, ns)
		}
		return nil, fmt.Errorf("get its workloadRef %s %q: %w", kind, name, err)
	}
	return obj, nil
}

// workloadRefGVK is the group, version and kind of a workloadRef: the
// kinds the controller supports, at their apiVersion or the usual one.
func workloadRefGVK(kind string, apiVersion any) (schema.GroupVersionKind, error) {
	defaults := map[string]string{"Deployment": "apps/v1", "ReplicaSet": "apps/v1", "PodTemplate": "v1"}
	def, ok := defaults[kind]
	if !ok {
		return schema.GroupVersionKind{}, fmt.Errorf("workloadRef kind %q is not supported (Deployment, ReplicaSet or PodTemplate)", kind)
	}
	av, _ := apiVersion.(string)
	if av == "" {
		av = def
	}
	gv, err := schema.ParseGroupVersion(av)
	if err != nil {
		return schema.GroupVersionKind{}, fmt.Errorf("workloadRef apiVersion %q: %w", av, err)
	}
	return gv.WithKind(kind), nil
}
