package revision

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func TestAnnotation(t *testing.T) {
	rollout := func(annotations map[string]string) *v1alpha1.Rollout {
		return &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: annotations}}
	}
	rs := func(revision string) *appsv1.ReplicaSet {
		a := map[string]string{v1alpha1.DesiredReplicasAnnotation: "5"}
		if revision != "" {
			a[v1alpha1.RevisionAnnotation] = revision
		}
		return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-abc", Annotations: a}}
	}
	rev := func(v string) map[string]string {
		return map[string]string{v1alpha1.RevisionAnnotation: v, "team": "payments"}
	}
	for _, tc := range []struct {
		name  string
		ro    *v1alpha1.Rollout
		newRS *appsv1.ReplicaSet
		want  string
		write bool
	}{
		{"first deploy: no annotations at all", rollout(nil), rs("1"), "1", true},
		{"first deploy: other annotations only", rollout(map[string]string{"team": "payments"}), rs("1"), "1", true},
		{"unchanged: no write", rollout(rev("1")), rs("1"), "1", false},
		{"a new revision starts", rollout(rev("1")), rs("2"), "2", true},
		{"a rollback renumbered an older ReplicaSet", rollout(rev("2")), rs("3"), "3", true},
		{"multi-digit revisions compare as written", rollout(rev("9")), rs("10"), "10", true},
		{"an annotation ahead of the ReplicaSet follows it back", rollout(rev("7")), rs("4"), "4", true},
		{"an empty annotation is replaced", rollout(rev("")), rs("1"), "1", true},
		{"no new ReplicaSet: left alone", rollout(rev("3")), nil, "", false},
		{"new ReplicaSet without a revision: left alone", rollout(rev("3")), rs(""), "", false},
		{"new ReplicaSet with a malformed revision: left alone", rollout(rev("3")), rs("x1"), "", false},
		{"new ReplicaSet with revision 0: left alone", rollout(nil), rs("0"), "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, write := Annotation(tc.ro, tc.newRS)
			if got != tc.want || write != tc.write {
				t.Errorf("Annotation = %q, %v; want %q, %v", got, write, tc.want, tc.write)
			}
		})
	}
}
