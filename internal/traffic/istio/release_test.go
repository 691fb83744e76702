package istio

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func TestReleaseDestinationRule(t *testing.T) {
	for _, c := range []struct {
		name      string
		doc, want string
		unchanged bool
	}{
		{
			name: "managed by a rollout: hashes and annotation go, other labels and fields stay",
			doc: `
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata:
  name: reviews
  namespace: ns
  annotations: {argo-rollouts.argoproj.io/managed-by-rollouts: web, team: payments}
spec:
  host: reviews
  subsets:
  - name: stable
    labels: {version: stable, rollouts-pod-template-hash: def}
    trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}
  - name: canary
    labels: {rollouts-pod-template-hash: abc}
`,
			want: `
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata:
  name: reviews
  namespace: ns
  annotations: {team: payments}
spec:
  host: reviews
  subsets:
  - name: stable
    labels: {version: stable}
    trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}
  - name: canary
`,
		},
		{
			name: "the annotation alone",
			doc: `
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata:
  name: reviews
  namespace: ns
  annotations: {argo-rollouts.argoproj.io/managed-by-rollouts: web}
spec:
  host: reviews
`,
			want: `
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata:
  name: reviews
  namespace: ns
spec:
  host: reviews
`,
		},
		{
			name:      "nothing of ours",
			unchanged: true,
			doc: `
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata:
  name: reviews
  namespace: ns
spec:
  host: reviews
  subsets:
  - name: stable
    labels: {version: stable}
`,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			dr := object(t, c.doc)
			changed, err := ReleaseDestinationRule(dr)
			if err != nil {
				t.Fatal(err)
			}
			if changed == c.unchanged {
				t.Errorf("changed = %v, want %v", changed, !c.unchanged)
			}
			want := c.want
			if c.unchanged {
				want = c.doc
			}
			if got, w := canonical(t, dr.Object), canonical(t, object(t, want).Object); got != w {
				t.Errorf("got\n%s\nwant\n%s", got, w)
			}
		})
	}
}

func TestNamedDestinationRules(t *testing.T) {
	ro := &v1alpha1.Rollout{}
	if got := NamedDestinationRules(ro); got != nil {
		t.Errorf("no strategy: got %v", got)
	}
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{TrafficRouting: &v1alpha1.RolloutTrafficRouting{Istio: &v1alpha1.IstioTrafficRouting{}}}
	if got := NamedDestinationRules(ro); got != nil {
		t.Errorf("host-level Istio: got %v", got)
	}
	ro.Spec.Strategy.Canary.TrafficRouting.Istio.DestinationRule = &v1alpha1.IstioDestinationRule{Name: "reviews"}
	if got := NamedDestinationRules(ro); len(got) != 1 || got[0] != "reviews" {
		t.Errorf("subset-level Istio: got %v", got)
	}
}

// TestReleaseDestinationRules: of the namespace's DestinationRules, only
// the one marked as the rollout's and no longer named is released; the
// named one, another rollout's and an unmarked one are left alone.
func TestReleaseDestinationRules(t *testing.T) {
	dr := func(name, owner string) *unstructured.Unstructured {
		ann := ""
		if owner != "" {
			ann = "\n  annotations: {argo-rollouts.argoproj.io/managed-by-rollouts: " + owner + "}"
		}
		return object(t, `
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata:
  name: `+name+`
  namespace: ns`+ann+`
spec:
  host: web
  subsets:
  - {name: stable, labels: {app: web, rollouts-pod-template-hash: def}}
  - {name: canary, labels: {rollouts-pod-template-hash: abc}}
`)
	}
	h := newHarness(dr("old", "ro"), dr("current", "ro"), dr("theirs", "other"), dr("unmarked", ""))
	ro := istioRollout(&v1alpha1.IstioTrafficRouting{DestinationRule: &v1alpha1.IstioDestinationRule{Name: "current"}})
	released, err := ReleaseDestinationRules(context.Background(), h.c, "", ro)
	if err != nil {
		t.Fatal(err)
	}
	if len(released) != 1 || released[0] != "old" {
		t.Fatalf("released %v, want [old]", released)
	}
	if updates, _ := h.take(); len(updates) != 1 || updates[0] != "DestinationRule ns/old" {
		t.Errorf("updates %v, want only DestinationRule ns/old", updates)
	}
	assertSpec(t, h.get(t, "DestinationRule", "ns", "old"), `
host: web
subsets:
- {name: stable, labels: {app: web}}
- {name: canary}
`)
	if got := h.get(t, "DestinationRule", "ns", "old").GetAnnotations(); len(got) != 0 {
		t.Errorf("annotations left: %v", got)
	}
	// Without Istio routing at all, the current one goes too.
	ro.Spec.Strategy.Canary.TrafficRouting = nil
	if released, err = ReleaseDestinationRules(context.Background(), h.c, "", ro); err != nil || len(released) != 1 || released[0] != "current" {
		t.Errorf("routing removed: released %v (err %v), want [current]", released, err)
	}
}
