package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// TestRolloutLine checks the list rollouts row of a canary mid-update and
// of a blue-green rollout (no step or weight).
func TestRolloutLine(t *testing.T) {
	canary := &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "can-guestbook", Namespace: "test"},
		Spec: v1alpha1.RolloutSpec{Replicas: ptr.To[int32](5), Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
			Steps: []v1alpha1.CanaryStep{{SetWeight: ptr.To[int32](10)}, {Pause: &v1alpha1.RolloutPause{}}, {SetWeight: ptr.To[int32](20)}},
		}}},
		Status: v1alpha1.RolloutStatus{CurrentStepIndex: ptr.To[int32](1), Replicas: 4, ReadyReplicas: 1, UpdatedReplicas: 3, AvailableReplicas: 2,
			Phase: v1alpha1.RolloutPhaseProgressing},
	}
	blueGreen := canary.DeepCopy()
	blueGreen.Name = "bg-guestbook"
	blueGreen.Spec.Strategy = v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{ActiveService: "active"}}
	for _, tc := range []struct {
		ro   *v1alpha1.Rollout
		f    listFlags
		want string
	}{
		{canary, listFlags{}, "can-guestbook\tCanary   \tProgressing \t1/3 \t10        \t1/4  \t5      \t3         \t2        "},
		{blueGreen, listFlags{}, "bg-guestbook\tBlueGreen\tProgressing \t-   \t-         \t1/4  \t5      \t3         \t2        "},
		{canary, listFlags{allNamespaces: true}, "test     \tcan-guestbook\tCanary   \tProgressing \t1/3 \t10        \t1/4  \t5      \t3         \t2        "},
	} {
		if got := newRolloutLine(tc.ro).format(tc.f); got != tc.want {
			t.Errorf("%s: got\n%q\nwant\n%q", tc.ro.Name, got, tc.want)
		}
	}
}

// TestExperimentTable checks durations, the time left of a running
// experiment and the NAMESPACE column of -A.
func TestExperimentTable(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	running := v1alpha1.Experiment{
		ObjectMeta: metav1.ObjectMeta{Name: "my-experiment", Namespace: "test", CreationTimestamp: metav1.NewTime(now.Add(-7 * 24 * time.Hour))},
		Spec:       v1alpha1.ExperimentSpec{Duration: "3h"},
		Status:     v1alpha1.ExperimentStatus{Phase: v1alpha1.AnalysisPhaseRunning, AvailableAt: ptr.To(metav1.NewTime(now.Add(-time.Hour)))},
	}
	open := running
	open.Name, open.Namespace, open.Spec.Duration = "my-experiment2", "my-other-namespace", ""
	var out bytes.Buffer
	if err := printExperimentTable(&out, []v1alpha1.Experiment{open, running}, true, now); err != nil {
		t.Fatal(err)
	}
	want := strings.TrimPrefix(`
NAMESPACE           NAME            STATUS   DURATION  REMAINING  AGE
my-other-namespace  my-experiment2  Running  -         -          7d 
test                my-experiment   Running  3h        120m       7d 
`, "\n")
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}
