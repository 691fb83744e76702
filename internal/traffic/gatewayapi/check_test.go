package gatewayapi

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

func TestCheckRoute(t *testing.T) {
	ro := &v1alpha1.Rollout{Spec: v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
		CanaryService: "canary", StableService: "stable"}}}}
	ro.Namespace = "ns"
	rt := Route{Kind: HTTPRoute, Name: "route", Field: ConfigField + ".httpRoute"}
	route := func(backends ...string) *unstructured.Unstructured {
		var refs []any
		for _, b := range backends {
			refs = append(refs, map[string]any{"name": b, "port": int64(80)})
		}
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
			"metadata": map[string]any{"name": "route", "namespace": "ns"},
			"spec":     map[string]any{"rules": []any{map[string]any{"backendRefs": refs}}},
		}}
	}

	ok := route("stable", "canary")
	before := ok.DeepCopy()
	if err := CheckRoute(ro, rt, ok); err != nil {
		t.Fatalf("a rule naming both Services: %v", err)
	}
	if !reflect.DeepEqual(ok, before) {
		t.Error("CheckRoute changed the route")
	}

	err := CheckRoute(ro, rt, route("stable"))
	se, isSpec := errors.AsType[*traffic.SpecError](err)
	if !isSpec || se.Field != rt.Field || !strings.Contains(se.Msg, `has no rule whose backendRefs name both the canary Service "canary" and the stable Service "stable"`) {
		t.Errorf("a rule without the canary: %v", err)
	}
}
