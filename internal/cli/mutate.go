package cli

import (
	"context"
	"fmt"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/clientside/action"
	"github.com/aviary-rollouts/aviary/internal/clientside/patch"
)

// This file holds what the mutating commands (promote, abort, retry,
// pause, restart, terminate, undo, set image) and status share.

// lookup reads the object kind (for messages: "rollout", "experiment",
// "analysisRun") named name in the command's namespace into obj, turning
// NotFound into a line a person can act on.
func lookup(ctx context.Context, o *Options, kind, name string, obj client.Object) (client.Client, error) {
	c, ns, err := o.clientAndNamespace()
	if err != nil {
		return nil, err
	}
	return c, action.Get(ctx, c, kind, ns, name, obj)
}

// clientAndNamespace is the client and the namespace a command acts in.
func (o *Options) clientAndNamespace() (client.Client, string, error) {
	c, err := o.Client()
	if err != nil {
		return nil, "", err
	}
	ns, err := o.Namespace()
	return c, ns, err
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
		c, ns, err := o.clientAndNamespace()
		if err != nil {
			return err
		}
		if err := action.Patch(ctx, c, strings.ToLower(kind), ns, name, newObj(), build); err != nil {
			return err
		}
		if _, err := fmt.Fprintf(o.Streams.Out, "%s '%s' %s\n", kind, name, done); err != nil {
			return err
		}
	}
	return nil
}

// fixed adapts a patch list that does not depend on the object read.
func fixed[T client.Object](patches []patch.Patch) func(T) ([]patch.Patch, error) {
	return action.Fixed[T](patches)
}

func newRollout() *v1alpha1.Rollout         { return &v1alpha1.Rollout{} }
func newExperiment() *v1alpha1.Experiment   { return &v1alpha1.Experiment{} }
func newAnalysisRun() *v1alpha1.AnalysisRun { return &v1alpha1.AnalysisRun{} }
