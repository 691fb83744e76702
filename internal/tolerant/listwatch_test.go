package tolerant

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	dynamicfake "k8s.io/client-go/dynamic/fake"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

var rollouts = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "rollouts"}

// rollout is a Rollout in ns with the given memory request and labels.
func rollout(t *testing.T, name, memory string, lbls map[string]any) *unstructured.Unstructured {
	t.Helper()
	u := parse(t, strings.NewReplacer("name: web", "name: "+name, "memory: invalid", "memory: "+memory).Replace(badRollout))
	if lbls != nil {
		_ = unstructured.SetNestedMap(u.Object, lbls, "metadata", "labels")
	}
	return u
}

func newLW(t *testing.T, objs ...runtime.Object) (*ListerWatcher, *dynamicfake.FakeDynamicClient, *[]Key) {
	t.Helper()
	dc := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{rollouts: "RolloutList"}, objs...)
	reg := NewRegistry()
	var heard []Key
	reg.Watch(func(k Key) { heard = append(heard, k) })
	sel, err := labels.Parse("team=a")
	if err != nil {
		t.Fatal(err)
	}
	return &ListerWatcher{
		Resource: dc.Resource(rollouts), Kind: schema.GroupKind{Group: "argoproj.io", Kind: "Rollout"},
		Namespace: "ns", Label: sel,
		New:      func() runtime.Object { return &v1alpha1.Rollout{} },
		NewList:  func() runtime.Object { return &v1alpha1.RolloutList{} },
		Registry: reg,
	}, dc, &heard
}

func TestListSkipsUndecodable(t *testing.T) {
	team := map[string]any{"team": "a"}
	lw, _, heard := newLW(t,
		rollout(t, "good1", "64Mi", team),
		rollout(t, "bad", "invalid", team),
		rollout(t, "good2", "1Gi", team),
		rollout(t, "other-team", "invalid", map[string]any{"team": "b"}), // not selected: never decoded
	)
	for _, tc := range []struct {
		name string
		list func() (runtime.Object, error)
	}{
		{"List", func() (runtime.Object, error) { return lw.List(metav1.ListOptions{}) }},
		{"ListWithContext", func() (runtime.Object, error) { return lw.ListWithContext(context.Background(), metav1.ListOptions{}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj, err := tc.list()
			if err != nil {
				t.Fatal(err)
			}
			list, ok := obj.(*v1alpha1.RolloutList)
			if !ok {
				t.Fatalf("got %T", obj)
			}
			var names []string
			for _, ro := range list.Items {
				names = append(names, ro.Name)
			}
			if strings.Join(names, ",") != "good1,good2" {
				t.Fatalf("listed %v", names)
			}
		})
	}
	// Two lists, one failure heard: the second list carried the same fault.
	want := Key{Kind: lw.Kind, Namespace: "ns", Name: "bad"}
	if len(*heard) != 1 || (*heard)[0] != want {
		t.Fatalf("heard %v", *heard)
	}
	f, ok := lw.Registry.Get(want)
	if !ok || f.Err.Path != "spec.template.spec.containers[1].resources.requests.memory" || f.Object.GetName() != "bad" {
		t.Fatalf("registry has %+v", f)
	}
	if len(lw.Registry.Keys()) != 1 {
		t.Errorf("registry keys %v", lw.Registry.Keys())
	}
	if e := lw.Registry.Failing(want); e == nil || e.Path != f.Err.Path {
		t.Errorf("Failing(%v) = %v", want, e)
	}
	if e := lw.Registry.Failing(Key{Kind: lw.Kind, Namespace: "ns", Name: "good1"}); e != nil {
		t.Errorf("a decodable object is failing: %v", e)
	}
	var none *Registry
	if none.Failing(want) != nil {
		t.Error("a nil registry knows of a failure")
	}
}

func TestWatchDropsObjectsThatBecomeUndecodable(t *testing.T) {
	team := map[string]any{"team": "a"}
	good := rollout(t, "web", "64Mi", team)
	lw, dc, heard := newLW(t, good)
	w, err := lw.Watch(metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	ctx := context.Background()
	client := dc.Resource(rollouts).Namespace("ns")
	next := func() watch.Event {
		t.Helper()
		select {
		case ev := <-w.ResultChan():
			return ev
		case <-time.After(5 * time.Second):
			t.Fatal("no watch event")
			return watch.Event{}
		}
	}
	update := func(u *unstructured.Unstructured) {
		t.Helper()
		if _, err := client.Update(ctx, u, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	if ev := next(); ev.Type != watch.Added { // the fake replays what exists
		t.Fatalf("got %s", ev.Type)
	}
	update(rollout(t, "web", "invalid", team))
	ev := next()
	ro, ok := ev.Object.(*v1alpha1.Rollout)
	if ev.Type != watch.Deleted || !ok || ro.Name != "web" || ro.Namespace != "ns" || len(ro.Spec.Template.Spec.Containers) != 0 {
		t.Fatalf("a Modified now undecodable object must come out as a metadata-only Deleted, got %s %#v", ev.Type, ev.Object)
	}
	// The reporter's own status write: same fault, so no second report.
	again := rollout(t, "web", "invalid", team)
	_ = unstructured.SetNestedField(again.Object, "Degraded", "status", "phase")
	update(again)
	if ev := next(); ev.Type != watch.Deleted {
		t.Fatalf("got %s", ev.Type)
	}
	if len(*heard) != 1 {
		t.Fatalf("heard %v", *heard)
	}

	update(rollout(t, "web", "128Mi", team)) // fixed: back in the cache
	ev = next()
	if ro, ok := ev.Object.(*v1alpha1.Rollout); ev.Type != watch.Modified || !ok || ro.Spec.Template.Spec.Containers[1].Resources.Requests.Memory().String() != "128Mi" {
		t.Fatalf("got %s %#v", ev.Type, ev.Object)
	}
	if _, failing := lw.Registry.Get(Key{Kind: lw.Kind, Namespace: "ns", Name: "web"}); failing || len(*heard) != 2 {
		t.Errorf("a fixed object must be heard of and forgotten (heard %v)", *heard)
	}

	// A new undecodable object never reaches the cache; the next good
	// event still flows.
	if _, err := client.Create(ctx, rollout(t, "new-bad", "invalid", team), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Create(ctx, rollout(t, "new-good", "1Gi", team), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ev = next()
	if ro, ok := ev.Object.(*v1alpha1.Rollout); ev.Type != watch.Added || !ok || ro.Name != "new-good" {
		t.Fatalf("got %s %#v", ev.Type, ev.Object)
	}
	if len(*heard) != 3 || (*heard)[2].Name != "new-bad" {
		t.Fatalf("heard %v", *heard)
	}

	// Deleting the undecodable object forgets it.
	if err := client.Delete(ctx, "new-bad", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ev = next()
	if ro, ok := ev.Object.(*v1alpha1.Rollout); ev.Type != watch.Deleted || !ok || ro.Name != "new-bad" {
		t.Fatalf("got %s %#v", ev.Type, ev.Object)
	}
	if len(lw.Registry.Keys()) != 0 {
		t.Errorf("registry keys %v", lw.Registry.Keys())
	}
}

func TestBookmarkKeepsMetadata(t *testing.T) {
	lw, _, _ := newLW(t)
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
		"metadata": map[string]any{"resourceVersion": "42", "annotations": map[string]any{metav1.InitialEventsAnnotationKey: "true"}}}}
	ev, keep := lw.event(watch.Event{Type: watch.Bookmark, Object: u})
	ro, ok := ev.Object.(*v1alpha1.Rollout)
	if !keep || !ok || ro.ResourceVersion != "42" || ro.Annotations[metav1.InitialEventsAnnotationKey] != "true" {
		t.Fatalf("got %v %#v", keep, ev.Object)
	}
}

func TestScopeAndsSelectors(t *testing.T) {
	lw, _, _ := newLW(t)
	if got := lw.scope(metav1.ListOptions{}).LabelSelector; got != "team=a" {
		t.Errorf("own selector: %q", got)
	}
	if got := lw.scope(metav1.ListOptions{LabelSelector: "x=y"}).LabelSelector; got != "x=y,team=a" {
		t.Errorf("both: %q", got)
	}
	lw.Label = nil
	if got := lw.scope(metav1.ListOptions{LabelSelector: "x=y"}).LabelSelector; got != "x=y" {
		t.Errorf("asked only: %q", got)
	}
}
