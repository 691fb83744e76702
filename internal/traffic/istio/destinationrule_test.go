package istio

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// seed08DestinationRule is the DestinationRule of seed 08.
const seed08DestinationRule = `
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata:
  name: reviews
  namespace: ns
spec:
  host: reviews
  subsets:
  - name: stable
    labels:
      version: stable
  - name: canary
    labels:
      version: canary
`

var seed08Subsets = &v1alpha1.IstioDestinationRule{Name: "reviews", CanarySubsetName: "canary", StableSubsetName: "stable"}

func TestApplyHashes(t *testing.T) {
	const managed = "argo-rollouts.argoproj.io/managed-by-rollouts"
	for _, c := range []struct {
		name                   string
		doc                    string
		canaryHash, stableHash string
		additional             []v1alpha1.WeightDestination
		want                   string
		unchanged              bool
		errField, errMsg       string
	}{
		{
			name: "seed 08: hashes added, other labels kept", doc: seed08DestinationRule, canaryHash: "abc", stableHash: "def",
			want: `
host: reviews
subsets:
- name: stable
  labels: {version: stable, rollouts-pod-template-hash: def}
- name: canary
  labels: {version: canary, rollouts-pod-template-hash: abc}
`,
		},
		{
			name: "already pinned", canaryHash: "abc", stableHash: "def", unchanged: true,
			doc: `
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: reviews, namespace: ns, annotations: {` + managed + `: ro}}
spec:
  host: reviews
  subsets:
  - {name: stable, labels: {rollouts-pod-template-hash: def}}
  - {name: canary, labels: {rollouts-pod-template-hash: abc}, trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}}
`,
			want: `
host: reviews
subsets:
- {name: stable, labels: {rollouts-pod-template-hash: def}}
- {name: canary, labels: {rollouts-pod-template-hash: abc}, trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}}
`,
		},
		{
			name: "an empty hash removes the label", canaryHash: "", stableHash: "def",
			doc: `
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: reviews, namespace: ns}
spec:
  host: reviews
  subsets:
  - {name: canary, labels: {rollouts-pod-template-hash: old, version: canary}}
  - {name: stable}
`,
			want: `
host: reviews
subsets:
- {name: canary, labels: {version: canary}}
- {name: stable, labels: {rollouts-pod-template-hash: def}}
`,
		},
		{
			name: "experiment subsets updated, added by name; stale and unrelated ones dropped", canaryHash: "abc", stableHash: "def",
			additional: []v1alpha1.WeightDestination{
				{ServiceName: "exp-b", PodTemplateHash: "bbb"}, {ServiceName: "exp-a", PodTemplateHash: "aaa"},
				{ServiceName: "exp-c", PodTemplateHash: "ccc"}, {ServiceName: "exp-starting"},
			},
			doc: `
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: reviews, namespace: ns}
spec:
  host: reviews
  subsets:
  - {name: stable}
  - {name: old-exp, labels: {rollouts-pod-template-hash: zzz}}
  - {name: exp-c, labels: {rollouts-pod-template-hash: old}}
  - {name: canary}
`,
			want: `
host: reviews
subsets:
- {name: stable, labels: {rollouts-pod-template-hash: def}}
- {name: exp-c, labels: {rollouts-pod-template-hash: ccc}}
- {name: canary, labels: {rollouts-pod-template-hash: abc}}
- {name: exp-a, labels: {rollouts-pod-template-hash: aaa}}
- {name: exp-b, labels: {rollouts-pod-template-hash: bbb}}
`,
		},
		{
			name: "no canary subset", canaryHash: "abc", stableHash: "def",
			doc:      "apiVersion: networking.istio.io/v1alpha3\nkind: DestinationRule\nmetadata: {name: reviews, namespace: ns}\nspec:\n  host: reviews\n  subsets: [{name: stable}]\n",
			errField: fieldIstio + ".destinationRule.canarySubsetName", errMsg: `DestinationRule ns/reviews has no subset named "canary"`,
		},
		{
			name: "no subsets at all", canaryHash: "abc", stableHash: "def",
			doc:      "apiVersion: networking.istio.io/v1alpha3\nkind: DestinationRule\nmetadata: {name: reviews, namespace: ns}\nspec:\n  host: reviews\n",
			errField: fieldIstio + ".destinationRule.canarySubsetName", errMsg: "add the canary subset",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			dr := object(t, c.doc)
			changed, err := ApplyHashes(dr, seed08Subsets, "ro", c.canaryHash, c.stableHash, c.additional)
			assertSpecError(t, err, c.errField, c.errMsg)
			if c.errField != "" {
				return
			}
			if changed == c.unchanged {
				t.Errorf("changed = %v", changed)
			}
			if got := dr.GetAnnotations()[managed]; got != "ro" {
				t.Errorf("%s annotation %q", managed, got)
			}
			assertSpec(t, dr, c.want)
			if again, err := ApplyHashes(dr, seed08Subsets, "ro", c.canaryHash, c.stableHash, c.additional); err != nil || again {
				t.Errorf("second apply: changed %v, err %v", again, err)
			}
		})
	}
}

// replicaSet is a ReplicaSet with hash, desired and available pods.
func replicaSet(name, hash string, replicas, available int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: hash}},
		Spec:       appsv1.ReplicaSetSpec{Replicas: &replicas},
		Status:     appsv1.ReplicaSetStatus{AvailableReplicas: available},
	}
}

func TestDelayHashUpdate(t *testing.T) {
	noServices := func(mutate ...func(*v1alpha1.Rollout)) *v1alpha1.Rollout {
		ro := istioRollout(&v1alpha1.IstioTrafficRouting{DestinationRule: seed08Subsets}, func(c *v1alpha1.CanaryStrategy) {
			c.CanaryService, c.StableService = "", ""
		})
		replicas := int32(5)
		ro.Spec.Replicas = &replicas
		for _, m := range mutate {
			m(ro)
		}
		return ro
	}
	stable := replicaSet("ro-def", "def", 5, 5)
	for _, c := range []struct {
		name   string
		ro     *v1alpha1.Rollout
		sets   []*appsv1.ReplicaSet
		wantRS string
	}{
		{"with Services the subsets need not wait", istioRollout(&v1alpha1.IstioTrafficRouting{DestinationRule: seed08Subsets}),
			[]*appsv1.ReplicaSet{stable, replicaSet("ro-abc", "abc", 1, 0)}, ""},
		{"canary not yet available", noServices(), []*appsv1.ReplicaSet{stable, replicaSet("ro-abc", "abc", 1, 0)}, "ro-abc"},
		{"stable not fully available", noServices(), []*appsv1.ReplicaSet{replicaSet("ro-def", "def", 5, 4), replicaSet("ro-abc", "abc", 1, 1)}, "ro-def"},
		{"all available", noServices(), []*appsv1.ReplicaSet{stable, replicaSet("ro-abc", "abc", 2, 2)}, ""},
		{"scaled to zero and other hashes are not waited for", noServices(),
			[]*appsv1.ReplicaSet{stable, replicaSet("ro-abc", "abc", 0, 0), replicaSet("ro-old", "old", 3, 0)}, ""},
		{"aborted: the canary is not waited for", noServices(func(ro *v1alpha1.Rollout) { ro.Status.Abort = true }),
			[]*appsv1.ReplicaSet{stable, replicaSet("ro-abc", "abc", 1, 0)}, ""},
		{"dynamic rollback to stable: the canary is not waited for", noServices(func(ro *v1alpha1.Rollout) {
			ro.Spec.Strategy.Canary.DynamicStableScale = true
			ro.Status.StableRS, ro.Status.CurrentPodHash = "def", "def"
			ro.Status.Canary.Weights = &v1alpha1.TrafficWeights{Canary: v1alpha1.WeightDestination{PodTemplateHash: "abc"}}
		}), []*appsv1.ReplicaSet{replicaSet("ro-abc", "abc", 2, 1), replicaSet("ro-def", "def", 5, 3)}, "ro-def"},
		{"no ReplicaSets given", noServices(), nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			wait, rs := DelayHashUpdate(c.ro, c.sets, "abc", "def")
			if wait != (c.wantRS != "") || rs != c.wantRS {
				t.Errorf("got %v %q, want %q", wait, rs, c.wantRS)
			}
		})
	}
}
