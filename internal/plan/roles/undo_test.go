package roles

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/podhash"
)

// An undo copies a ReplicaSet's template, with the API server's defaults
// filled in, back into the Rollout: the Rollout goes back to that
// ReplicaSet instead of starting a new one.
func TestCurrentHashFindsTheReplicaSetAnUndoCopied(t *testing.T) {
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"}}
	ro.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	ro.Spec.Template = corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "demo:blue"}}}}
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{StableMetadata: &v1alpha1.PodTemplateMetadata{Labels: map[string]string{"role": "stable"}}}
	blueHash := podhash.PodTemplateHash(&ro.Spec.Template, nil)
	blue := NewReplicaSet(ro, blueHash, 1, ro.Spec.Strategy.Canary.StableMetadata)
	// What the API server stores: defaults filled in.
	blue.Spec.Template.Spec.Containers[0].TerminationMessagePath = "/dev/termination-log"
	blue.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways

	ro.Spec.Template.Spec.Containers[0].Image = "demo:green"
	green := NewReplicaSet(ro, podhash.PodTemplateHash(&ro.Spec.Template, nil), 2, nil)
	rsList := []*appsv1.ReplicaSet{blue, green}

	// undo --to-revision 1: the ReplicaSet's template minus the hash label
	// (the role label stays, as the plugin copies it).
	undone := *blue.Spec.Template.DeepCopy()
	delete(undone.Labels, v1alpha1.DefaultRolloutUniqueLabelKey)
	ro.Spec.Template = undone
	if got := CurrentHash(ro, rsList); got != blueHash {
		t.Fatalf("currentHash = %q, want blue's %q", got, blueHash)
	}
	// A genuinely new template still gets its own hash.
	ro.Spec.Template.Spec.Containers[0].Image = "demo:yellow"
	if got := CurrentHash(ro, rsList); got == blueHash || got == green.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] {
		t.Fatalf("a new template matched an old ReplicaSet: %q", got)
	}
}

func TestRollbackTarget(t *testing.T) {
	at := func(min int) *appsv1.ReplicaSet {
		rs := &appsv1.ReplicaSet{}
		if min >= 0 {
			rs.CreationTimestamp = metav1.NewTime(time.Date(2026, 1, 1, 0, min, 0, 0, time.UTC))
		}
		return rs
	}
	stable := at(10)
	for _, c := range []struct {
		name string
		rs   Roles
		want bool
	}{
		{"an older ReplicaSet again", Roles{New: at(5), Stable: stable}, true},
		{"a newer one", Roles{New: at(15), Stable: stable}, false},
		{"one being created", Roles{New: at(-1), Stable: stable}, false},
		{"the stable itself", Roles{New: stable, Stable: stable}, false},
		{"no stable", Roles{New: at(5)}, false},
	} {
		if got := RollbackTarget(c.rs); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
