package patch

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Send sends patches to obj (namespace and name set) in order. A status
// patch the API server answers with NotFound — the subresource is not
// served — is replaced by its Fallback, sent to the object itself, which
// also stands for the rest of the list. obj holds the object as last
// returned.
func Send(ctx context.Context, c client.Client, obj client.Object, patches []Patch) error {
	for _, p := range patches {
		raw := client.RawPatch(p.Type, p.Body)
		if p.Subresource == "" {
			if err := c.Patch(ctx, obj, raw); err != nil {
				return fmt.Errorf("patch %s: %w", p.Body, err)
			}
			continue
		}
		err := c.SubResource(p.Subresource).Patch(ctx, obj, raw)
		if err == nil {
			continue
		}
		if !apierrors.IsNotFound(err) || p.Fallback == nil {
			return fmt.Errorf("patch %s of %s: %w", p.Subresource, p.Body, err)
		}
		if err := c.Patch(ctx, obj, client.RawPatch(p.Fallback.Type, p.Fallback.Body)); err != nil {
			return fmt.Errorf("patch %s (the status subresource is not served): %w", p.Fallback.Body, err)
		}
		return nil
	}
	return nil
}
