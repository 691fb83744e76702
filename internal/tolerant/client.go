package tolerant

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// Client reads the argoproj.io kinds tolerantly for the CLI and the
// dashboard: a List leaves out the objects the Go types refuse (telling
// Skipped of each) instead of failing whole, and a Get of such an object
// fails with an error naming the field. Everything else goes to the
// wrapped client. The typed read is tried first, so the cost is paid only
// when an object is malformed.
type Client struct {
	client.Client
	Dynamic dynamic.Interface
	// Skipped, if set, hears of each object a List left out.
	Skipped func(kind, namespace, name string, err *DecodeError)
}

// Get implements client.Reader.
func (c *Client) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	err := c.Client.Get(ctx, key, obj, opts...)
	k, ok := kinds[reflect.TypeOf(obj)]
	if err == nil || !ok || isAPIError(err) {
		return err
	}
	u, gerr := c.resource(k, key.Namespace).Get(ctx, key.Name, metav1.GetOptions{})
	if gerr != nil {
		return err
	}
	if derr := Decode(u, obj); derr != nil {
		return fmt.Errorf("%s %s/%s cannot be read: %w; correct it and re-apply", u.GetKind(), key.Namespace, key.Name, derr)
	}
	return nil
}

// List implements client.Reader.
func (c *Client) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	err := c.Client.List(ctx, list, opts...)
	k, ok := listKinds[reflect.TypeOf(list)]
	if err == nil || !ok || isAPIError(err) {
		return err
	}
	lo := (&client.ListOptions{}).ApplyOptions(opts)
	ul, lerr := c.resource(k, lo.Namespace).List(ctx, *lo.AsListOptions())
	if lerr != nil {
		return err
	}
	items := make([]runtime.Object, 0, len(ul.Items))
	for i := range ul.Items {
		obj := k.newObj()
		if derr := Decode(&ul.Items[i], obj); derr != nil {
			var de *DecodeError
			if !errors.As(derr, &de) {
				de = &DecodeError{Err: derr}
			}
			if c.Skipped != nil {
				c.Skipped(ul.Items[i].GetKind(), ul.Items[i].GetNamespace(), ul.Items[i].GetName(), de)
			}
			continue
		}
		items = append(items, obj)
	}
	if err := meta.SetList(list, items); err != nil {
		return fmt.Errorf("build %T: %w", list, err)
	}
	list.SetResourceVersion(ul.GetResourceVersion())
	list.SetContinue(ul.GetContinue())
	return nil
}

func (c *Client) resource(k kind, namespace string) dynamic.ResourceInterface {
	r := c.Dynamic.Resource(v1alpha1.GroupVersion.WithResource(k.resource))
	if k.namespaced && namespace != "" {
		return r.Namespace(namespace)
	}
	return r
}

// isAPIError is an answer of the API server (not found, forbidden…), as
// opposed to a response the client could not decode.
func isAPIError(err error) bool {
	var s apierrors.APIStatus
	return errors.As(err, &s) || meta.IsNoMatchError(err)
}
