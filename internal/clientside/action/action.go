// Package action is what the mutating commands do to a rollout — read it,
// build the patches, send them — written once for the CLI and the
// dashboard, so both change a rollout through the same calls.
package action

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/internal/clientside/patch"
)

// Get reads the object kind (for messages: "rollout", "experiment",
// "analysisRun") ns/name into obj, turning NotFound into a line a person
// can act on.
func Get(ctx context.Context, c client.Reader, kind, ns, name string, obj client.Object) error {
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return notFoundError{kind: kind, ns: ns, name: name}
		}
		return fmt.Errorf("get %s %q in namespace %q: %w", kind, name, ns, err)
	}
	return nil
}

// notFoundError says which object does not exist.
type notFoundError struct{ kind, ns, name string }

func (e notFoundError) Error() string {
	return fmt.Sprintf("%s %q not found in namespace %q", e.kind, e.name, e.ns)
}

// IsNotFound tells whether err is about an object that does not exist.
func IsNotFound(err error) bool {
	var nf notFoundError
	return errors.As(err, &nf)
}

// Patch reads the object ns/name into obj, builds its patches with build
// and sends them.
func Patch[T client.Object](ctx context.Context, c client.Client, kind, ns, name string, obj T, build func(T) ([]patch.Patch, error)) error {
	if err := Get(ctx, c, kind, ns, name, obj); err != nil {
		return err
	}
	patches, err := build(obj)
	if err != nil {
		return err
	}
	if err := patch.Send(ctx, c, obj, patches); err != nil {
		return fmt.Errorf("%s %q: %w", kind, name, err)
	}
	return nil
}

// Fixed adapts a patch list that does not depend on the object read.
func Fixed[T client.Object](patches []patch.Patch) func(T) ([]patch.Patch, error) {
	return func(T) ([]patch.Patch, error) { return patches, nil }
}
