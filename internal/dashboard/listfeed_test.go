package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/clientside/tree"
	"github.com/aviary-rollouts/aviary/internal/dashboard/view"
)

// memReader answers List from memory as the informer cache does: deep
// copies unless the caller opts out, in no particular order.
type memReader struct {
	rollouts    []v1alpha1.Rollout
	replicaSets []appsv1.ReplicaSet
	// fail, if set, is the error of every List.
	fail error
}

func (m *memReader) Get(context.Context, client.ObjectKey, client.Object, ...client.GetOption) error {
	return fmt.Errorf("memReader: Get is not needed by the list")
}

func (m *memReader) List(_ context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if m.fail != nil {
		return m.fail
	}
	o := (&client.ListOptions{}).ApplyOptions(opts)
	shallow := o.UnsafeDisableDeepCopy != nil && *o.UnsafeDisableDeepCopy
	switch l := list.(type) {
	case *v1alpha1.RolloutList:
		l.Items = copyItems(m.rollouts, shallow, (*v1alpha1.Rollout).DeepCopy)
	case *appsv1.ReplicaSetList:
		l.Items = copyItems(m.replicaSets, shallow, (*appsv1.ReplicaSet).DeepCopy)
	case *v1alpha1.AnalysisRunList, *v1alpha1.ExperimentList, *corev1.PodList:
	default:
		return fmt.Errorf("memReader: no %T", list)
	}
	return nil
}

func copyItems[T any](items []T, shallow bool, deep func(*T) *T) []T {
	out := make([]T, len(items))
	for i := range items {
		if shallow {
			out[i] = items[i]
		} else {
			out[i] = *deep(&items[i])
		}
	}
	return out
}

// scaleNamespace is n canaries mid-update, each with a stable and a
// canary ReplicaSet, as the list of a busy namespace holds them.
func scaleNamespace(n int) *memReader {
	m := &memReader{}
	for i := range n {
		name := fmt.Sprintf("app-%04d", i)
		uid := types.UID("uid-" + name)
		step := int32(1)
		m.rollouts = append(m.rollouts, v1alpha1.Rollout{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", UID: uid, ResourceVersion: fmt.Sprint(10 * i), Generation: 2},
			Spec: v1alpha1.RolloutSpec{
				Replicas: ptr(int32(3)),
				Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "demo:green"}}}},
				Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{
					{SetWeight: ptr(int32(34))}, {Pause: &v1alpha1.RolloutPause{}}, {SetWeight: ptr(int32(67))}, {Pause: &v1alpha1.RolloutPause{}},
				}}},
			},
			Status: v1alpha1.RolloutStatus{ObservedGeneration: "2", StableRS: "a", CurrentPodHash: "b", CurrentStepIndex: &step,
				Phase: v1alpha1.RolloutPhasePaused, Replicas: 4, UpdatedReplicas: 1, ReadyReplicas: 4, AvailableReplicas: 4},
		})
		for j, hash := range []string{"a", "b"} {
			m.replicaSets = append(m.replicaSets, appsv1.ReplicaSet{
				ObjectMeta: metav1.ObjectMeta{Name: name + "-" + hash, Namespace: "ns", UID: types.UID(name + hash), ResourceVersion: fmt.Sprint(10*i + j + 1),
					Labels:          map[string]string{v1alpha1.DefaultRolloutUniqueLabelKey: hash},
					Annotations:     map[string]string{v1alpha1.RevisionAnnotation: fmt.Sprint(j + 1)},
					OwnerReferences: []metav1.OwnerReference{{UID: uid, Name: name, Kind: "Rollout"}}},
				Spec:   appsv1.ReplicaSetSpec{Replicas: ptr(int32(3 - 2*j)), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "demo"}}}}},
				Status: appsv1.ReplicaSetStatus{Replicas: int32(3 - 2*j), AvailableReplicas: int32(3 - 2*j)},
			})
		}
	}
	return m
}

func ptr[T any](v T) *T { return &v }

// event is one event of a feed, decoded.
type event struct {
	name  string
	list  RolloutList
	delta struct {
		Added, Changed []view.Summary
		Removed        []RowKey
	}
	err string
}

func next(t *testing.T, f feed, c client.Reader) event {
	t.Helper()
	name, data, err := f.next(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	ev := event{name: name}
	var into any
	switch name {
	case "":
		return ev
	case eventSnapshot:
		into = &ev.list
	case eventDelta:
		into = &ev.delta
	case eventError:
		var body errorBody
		if err := json.Unmarshal(data, &body); err != nil {
			t.Fatalf("%s event: %v in %s", name, err, data)
		}
		ev.err = body.Error
		return ev
	}
	if err := json.Unmarshal(data, into); err != nil {
		t.Fatalf("%s event: %v in %s", name, err, data)
	}
	return ev
}

func names(rows []view.Summary) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.Name)
	}
	return out
}

// TestListFeed follows a namespace through the list watch's events: the
// snapshot, then only the rows added, changed and removed.
func TestListFeed(t *testing.T) {
	m := scaleNamespace(4)
	f := &listFeed{ns: "ns"}

	ev := next(t, f, m)
	if ev.name != eventSnapshot || !slices.Equal(names(ev.list.Rollouts), []string{"app-0000", "app-0001", "app-0002", "app-0003"}) {
		t.Fatalf("first event %q with %v, want the snapshot of the 4 rollouts", ev.name, names(ev.list.Rollouts))
	}
	if got := next(t, f, m); got.name != "" {
		t.Fatalf("nothing changed, yet the feed sent %q: %+v", got.name, got)
	}

	// app-0001 changes, app-0002's canary ReplicaSet changes, app-0003
	// goes, app-0004 comes.
	m.rollouts[1].ResourceVersion, m.rollouts[1].Status.Phase = "r1", v1alpha1.RolloutPhaseDegraded
	rs := &m.replicaSets[2*2+1]
	rs.ResourceVersion, rs.Status.AvailableReplicas = "r2", 0
	more := scaleNamespace(5)
	m.rollouts = append(m.rollouts[:3], more.rollouts[4])
	m.replicaSets = append(m.replicaSets[:6], more.replicaSets[8:]...)
	ev = next(t, f, m)
	if ev.name != eventDelta {
		t.Fatalf("event %q, want a delta", ev.name)
	}
	d := ev.delta
	if !slices.Equal(names(d.Added), []string{"app-0004"}) || !slices.Equal(names(d.Changed), []string{"app-0001", "app-0002"}) ||
		!slices.Equal(d.Removed, []RowKey{{Namespace: "ns", Name: "app-0003"}}) {
		t.Fatalf("delta added %v, changed %v, removed %v; want app-0004 added, app-0001 and app-0002 changed, ns/app-0003 removed",
			names(d.Added), names(d.Changed), d.Removed)
	}
	if d.Changed[0].Status != "Degraded" {
		t.Errorf("app-0001 is sent as %q, want Degraded", d.Changed[0].Status)
	}

	// A row is rebuilt only when the versions of its objects change: the
	// same change under the old version is not seen (the cache never
	// does this; it shows that unchanged rows are taken as they were).
	m.rollouts[0].Status.Phase = v1alpha1.RolloutPhaseDegraded
	if got := next(t, f, m); got.name != "" {
		t.Fatalf("a row whose objects kept their versions was rebuilt: %q %+v", got.name, got)
	}
	// A new version whose summary is the same sends nothing either.
	m.rollouts[2].ResourceVersion = "r3"
	if got := next(t, f, m); got.name != "" {
		t.Fatalf("a row with the same JSON was sent again: %q %+v", got.name, got)
	}

	// An error is sent once; after it, a snapshot replaces the page's rows.
	m.fail = errors.New("the cache is gone")
	if got := next(t, f, m); got.name != eventError || !strings.Contains(got.err, "the cache is gone") {
		t.Fatalf("event %q %q, want the error", got.name, got.err)
	}
	if got := next(t, f, m); got.name != "" {
		t.Fatalf("the same error was sent again: %q", got.name)
	}
	m.fail = nil
	if got := next(t, f, m); got.name != eventSnapshot || len(got.list.Rollouts) != 4 {
		t.Fatalf("after the error: event %q with %d rows, want a snapshot of 4", got.name, len(got.list.Rollouts))
	}
}

// TestListSnapshotIsTheList checks the rows made from each rollout's own
// ReplicaSets against summaries made from the whole namespace, as the
// detail page makes them.
func TestListSnapshotIsTheList(t *testing.T) {
	m := scaleNamespace(30)
	// Experiments' ReplicaSets and stray ones are in the namespace too.
	m.replicaSets = append(m.replicaSets, appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "stray", Namespace: "ns", ResourceVersion: "1"}})
	m.rollouts[7].Status.CurrentPodHash, m.rollouts[7].Status.StableRS = "b", "b"
	_, data, err := (&listFeed{ns: "ns"}).next(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	want := RolloutList{Rollouts: []view.Summary{}}
	objs := tree.Objects{ReplicaSets: m.replicaSets}
	for i := range m.rollouts {
		want.Rollouts = append(want.Rollouts, view.NewSummary(&m.rollouts[i], objs))
	}
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(data, wantJSON) {
		t.Errorf("snapshot\n%s\nwant\n%s", data, wantJSON)
	}
}

// BenchmarkListSnapshot3000 is the list watch's first event at 3,000
// rollouts: every row built and marshalled.
func BenchmarkListSnapshot3000(b *testing.B) {
	m := scaleNamespace(3000)
	ctx := context.Background()
	for b.Loop() {
		f := &listFeed{ns: "ns"}
		if ev, _, err := f.next(ctx, m); err != nil || ev != eventSnapshot {
			b.Fatalf("event %q, %v", ev, err)
		}
	}
}

// BenchmarkListDelta3000 is the list watch's event after one rollout of
// 3,000 changed: one row rebuilt, one row sent.
func BenchmarkListDelta3000(b *testing.B) {
	m := scaleNamespace(3000)
	ctx := context.Background()
	f := &listFeed{ns: "ns"}
	if _, _, err := f.next(ctx, m); err != nil {
		b.Fatal(err)
	}
	ro := &m.rollouts[1234]
	for i := 0; b.Loop(); i++ {
		ro.ResourceVersion = fmt.Sprint("x", i)
		ro.Status.ReadyReplicas = int32(i % 4)
		if ev, data, err := f.next(ctx, m); err != nil || ev != eventDelta {
			b.Fatalf("event %q %s, %v", ev, data, err)
		}
	}
}
