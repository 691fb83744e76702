package history

import (
	"strconv"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

func rs(rev int, spec, status int32) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: "web-" + strconv.Itoa(rev), Annotations: map[string]string{v1alpha1.RevisionAnnotation: strconv.Itoa(rev)}},
		Spec:       appsv1.ReplicaSetSpec{Replicas: &spec},
		Status:     appsv1.ReplicaSetStatus{Replicas: status},
	}
}

func names(l []*appsv1.ReplicaSet) []string {
	var out []string
	for _, r := range l {
		out = append(out, r.Name)
	}
	return out
}

func TestToDelete(t *testing.T) {
	cases := []struct {
		name  string
		olds  []*appsv1.ReplicaSet
		limit int32
		want  []string
	}{
		{"within the limit", []*appsv1.ReplicaSet{rs(1, 0, 0), rs(2, 0, 0)}, 2, nil},
		{"oldest revisions go first", []*appsv1.ReplicaSet{rs(3, 0, 0), rs(1, 0, 0), rs(2, 0, 0), rs(4, 0, 0)}, 2, []string{"web-1", "web-2"}},
		{"revision 10 is newer than 9", []*appsv1.ReplicaSet{rs(10, 0, 0), rs(9, 0, 0)}, 1, []string{"web-9"}},
		{"never one still running or draining", []*appsv1.ReplicaSet{rs(1, 2, 2), rs(2, 0, 1), rs(3, 0, 0)}, 0, []string{"web-3"}},
		{"limit 0 deletes every idle one", []*appsv1.ReplicaSet{rs(1, 0, 0), rs(2, 0, 0)}, 0, []string{"web-1", "web-2"}},
	}
	for _, c := range cases {
		got := names(ToDelete(c.olds, c.limit))
		if len(got) != len(c.want) {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: got %v, want %v", c.name, got, c.want)
			}
		}
	}
}
