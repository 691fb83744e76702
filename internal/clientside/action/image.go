package action

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/clientside/patch"
)

// setImageAttempts bounds the read-modify-update loop of SetImage when the
// controller or another client writes the object in between.
const setImageAttempts = 5

// SetImage sets the image of the containers named container ('*' for all)
// of the rollout ns/name, or of its workloadRef target, and returns the
// object it updated. The object is read as unstructured, so fields this
// build does not know survive the update.
func SetImage(ctx context.Context, c client.Client, ns, name, container, image string) (*unstructured.Unstructured, error) {
	var (
		obj *unstructured.Unstructured
		err error
	)
	for range setImageAttempts {
		obj, err = setImageOnce(ctx, c, ns, name, container, image)
		if !apierrors.IsConflict(err) {
			break
		}
	}
	return obj, err
}

func setImageOnce(ctx context.Context, c client.Client, ns, name, container, image string) (*unstructured.Unstructured, error) {
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("Rollout"))
	if err := Get(ctx, c, "rollout", ns, name, obj); err != nil {
		return nil, err
	}
	if ref, found, _ := unstructured.NestedMap(obj.Object, "spec", "workloadRef"); found {
		var err error
		if obj, err = workloadRefTarget(ctx, c, ns, ref); err != nil {
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
