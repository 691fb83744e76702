package analysisrun

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// TestFlushPatchesFromWhatWasWritten: the writers compute each patch
// against the status they last wrote, not the (possibly older) cached copy,
// so a flush after several coalesced measurements lands them all.
func TestFlushPatchesFromWhatWasWritten(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	run := &v1alpha1.AnalysisRun{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "ns", UID: "u1"}}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(run).WithStatusSubresource(run).Build()
	ctx := context.Background()
	s := newStatuses()
	cached := run.DeepCopy() // the informer's copy never changes in this test
	e := s.get(cached)

	for i, phase := range []v1alpha1.AnalysisPhase{v1alpha1.AnalysisPhaseRunning, v1alpha1.AnalysisPhaseRunning, v1alpha1.AnalysisPhaseSuccessful} {
		st := e.current()
		st.Phase = phase
		st.MetricResults = append(st.MetricResults, v1alpha1.MetricResult{Name: "m" + string(rune('a'+i)), Phase: phase})
		if !e.set(st) {
			t.Fatalf("step %d: a new measurement must count as a change", i)
		}
		if i == 1 {
			continue // coalesced into the next flush
		}
		if err := e.flush(ctx, c, cached); err != nil {
			t.Fatal(err)
		}
	}
	var got v1alpha1.AnalysisRun
	if err := c.Get(ctx, client.ObjectKeyFromObject(run), &got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != v1alpha1.AnalysisPhaseSuccessful || len(got.Status.MetricResults) != 3 {
		t.Fatalf("stored status %+v", got.Status)
	}
	if e.set(e.current()) {
		t.Fatal("nothing new after the flush")
	}
	// A run recreated under the same name starts from its own status.
	again := run.DeepCopy()
	again.UID = "u2"
	if st := s.get(again).current(); len(st.MetricResults) != 0 {
		t.Fatalf("a recreated run must not inherit the old one's status: %+v", st)
	}
}
