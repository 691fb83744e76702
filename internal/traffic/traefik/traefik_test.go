package traefik

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func service(entries ...map[string]any) *unstructured.Unstructured {
	var list []any
	for _, e := range entries {
		list = append(list, e)
	}
	obj := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"weighted": map[string]any{"services": list}}}}
	obj.SetName("traefik-service")
	return obj
}

func TestSetWeights(t *testing.T) {
	obj := service(map[string]any{"name": "canary-demo", "port": int64(80)}, map[string]any{"name": "canary-demo-canary", "port": int64(80)},
		map[string]any{"name": "other", "weight": int64(7)})
	changed, err := SetWeights(obj, "canary-demo-canary", "canary-demo", 20, 80)
	if err != nil || !changed {
		t.Fatalf("changed %v err %v", changed, err)
	}
	got, _, _ := unstructured.NestedSlice(obj.Object, "spec", "weighted", "services")
	if got[0].(map[string]any)["weight"] != int64(80) || got[1].(map[string]any)["weight"] != int64(20) || got[2].(map[string]any)["weight"] != int64(7) {
		t.Fatalf("weights %v", got)
	}
	if changed, err = SetWeights(obj, "canary-demo-canary", "canary-demo", 20, 80); err != nil || changed {
		t.Fatalf("same weights again: changed %v err %v", changed, err)
	}
	for _, c := range []struct {
		obj  *unstructured.Unstructured
		want string
	}{
		{&unstructured.Unstructured{Object: map[string]any{}}, "spec.weighted.services was not found"},
		{service(map[string]any{"name": "canary-demo"}), `no entry for the canary Service "canary-demo-canary"`},
		{service(map[string]any{"name": "canary-demo-canary"}), `no entry for the stable Service "canary-demo"`},
	} {
		if _, err := SetWeights(c.obj, "canary-demo-canary", "canary-demo", 1, 99); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want %q", err, c.want)
		}
	}
}
