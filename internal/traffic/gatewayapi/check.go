package gatewayapi

import (
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// CheckRoute reports, without changing obj, the problem SetWeight would
// meet in the route rt of ro: a route that cannot be decoded, or one with
// no rule whose backendRefs name both the canary and the stable Service.
// `kubectl argo rollouts lint` calls it on the routes found in the file it
// checks, so that lint and the controller reject a route for the same
// reasons and with the same message.
func CheckRoute(ro *v1alpha1.Rollout, rt Route, obj *unstructured.Unstructured) error {
	c := ro.Spec.Strategy.Canary
	if c == nil {
		return nil
	}
	d, err := decodeRoute(rt.Kind, obj.DeepCopy().Object, rt.Field)
	if err != nil {
		return err
	}
	svc := services{canary: c.CanaryService, stable: c.StableService, namespace: ro.Namespace}
	if len(d.userWeighted(svc)) == 0 {
		return d.noWeightedRule(svc)
	}
	return nil
}
