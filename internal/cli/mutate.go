package cli

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/cli/patch"
)

// This file holds what the mutating commands (promote, abort, retry,
// pause, restart, terminate, undo, set image) and status share.

// lookup reads the object kind (for messages: "rollout", "experiment",
// "analysisRun") named name in the command's namespace into obj, turning
// NotFound into a line a person can act on.
func lookup(ctx context.Context, o *Options, kind, name string, obj client.Object) (client.Client, error) {
	c, err := o.Client()
	if err != nil {
		return nil, err
	}
	ns, err := o.Namespace()
	if err != nil {
		return nil, err
	}
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("%s %q not found in namespace %q", kind, name, ns)
		}
		return nil, fmt.Errorf("get %s %q in namespace %q: %w", kind, name, ns, err)
	}
	return c, nil
}

// lookupRollout reads the Rollout name.
func lookupRollout(ctx context.Context, o *Options, name string) (client.Client, *v1alpha1.Rollout, error) {
	ro := &v1alpha1.Rollout{}
	c, err := lookup(ctx, o, "rollout", name, ro)
	return c, ro, err
}

// sendPatches reads the object, builds its patches with build and sends
// them, then prints "<kind> 'NAME' <done>" as the plugin does; for each
// name in turn, as the plugin's abort, retry, pause and terminate take
// several.
func sendPatches[T client.Object](ctx context.Context, o *Options, kind, done string, names []string, newObj func() T, build func(T) ([]patch.Patch, error)) error {
	for _, name := range names {
		obj := newObj()
		c, err := lookup(ctx, o, strings.ToLower(kind), name, obj)
		if err != nil {
			return err
		}
		patches, err := build(obj)
		if err != nil {
			return err
		}
		if err := patch.Send(ctx, c, obj, patches); err != nil {
			return fmt.Errorf("%s %q: %w", strings.ToLower(kind), name, err)
		}
		if _, err := fmt.Fprintf(o.Streams.Out, "%s '%s' %s\n", kind, name, done); err != nil {
			return err
		}
	}
	return nil
}

// fixed adapts a patch list that does not depend on the object read.
func fixed[T client.Object](patches []patch.Patch) func(T) ([]patch.Patch, error) {
	return func(T) ([]patch.Patch, error) { return patches, nil }
}

func newRollout() *v1alpha1.Rollout         { return &v1alpha1.Rollout{} }
func newExperiment() *v1alpha1.Experiment   { return &v1alpha1.Experiment{} }
func newAnalysisRun() *v1alpha1.AnalysisRun { return &v1alpha1.AnalysisRun{} }
