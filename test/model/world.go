// Package model is a model-based fuzzer for the Rollout controller: a
// simulated cluster (controller-runtime's fake client as the API server, a
// clock the simulation advances, and in-memory stand-ins for the
// ReplicaSet controller, the kubelet and the AnalysisRun controller) drives
// the real reconciler (internal/rollout.Reconciler, planner and shell)
// through random sequences of what users and tools do to a Rollout, and
// checks Argo Rollouts' rules (invariants.go) after every step. A failing
// sequence is shrunk to a minimal one and saved as a regression.
//
// See docs/fuzzing.md for what is modelled, what is left out, and how to
// run it.
package model

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/events"
	"github.com/aviary-rollouts/aviary/internal/manager"
	"github.com/aviary-rollouts/aviary/internal/rollout"
)

// Namespace and Name are the simulated Rollout's.
const (
	Namespace = "ns"
	Name      = "web"
)

// epoch is the simulation's time zero (any fixed instant: runs must not
// depend on the wall clock).
var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// rolloutKey is the simulated Rollout's key.
var rolloutKey = types.NamespacedName{Namespace: Namespace, Name: Name}

// World is one simulated cluster: the API server's store, the clock, and
// the bookkeeping the invariants need about who wrote what.
type World struct {
	store client.WithWatch
	now   time.Time
	uid   int

	// writes counts successful writes by anyone; a round in which it does
	// not move is quiet.
	writes int
	// lastRolloutWriter is the actor of the latest write to the Rollout.
	lastRolloutWriter string
	// versions maps each Rollout resourceVersion ever stored to the state
	// it held, so an event's subject version can be read back.
	versions map[string]rolloutVersion
	// epoch counts the user actions that may legitimately make the
	// controller repeat a decision (see invariant DecisionEventsOnce).
	epoch int
	// journal lists the events the controller journaled, in order.
	journal []journaled
}

// rolloutVersion is what invariants need of one stored Rollout version.
type rolloutVersion struct {
	epoch    int
	podHash  string
	stepHash string
}

// journaled is one event the journal created.
type journaled struct {
	name, reason, message string
	subjectRV             string
	// stepAfter is the Rollout's currentStepIndex once the reconcile that
	// recorded it was over (filled in after the reconcile).
	stepAfter *int32
	// awaitingAfter: the Rollout's promotion waited for evidence once the
	// reconcile was over (status.canary.promotionEvidence.waiting).
	awaitingAfter bool
	reconcile     int
}

// newWorld builds an empty cluster: the fake client with the reconciler's
// indexes and the status subresources the real API server serves.
func newWorld() (*World, error) {
	scheme, err := manager.Scheme()
	if err != nil {
		return nil, err
	}
	w := &World{now: epoch, versions: map[string]rolloutVersion{}}
	w.store = newFakeClient(scheme)
	return w, nil
}

// newFakeClient is a fake API server with what the reconciler's cache reads
// need (rollout.Indexes) and status subresources where the real API server
// has them.
func newFakeClient(scheme *runtime.Scheme, objs ...client.Object) client.WithWatch {
	// The plain object tracker: the default one keeps managed fields,
	// building a REST mapper on every write (most of the run time), and
	// nothing here reads managed fields.
	tracker := clienttesting.NewObjectTracker(scheme, serializer.NewCodecFactory(scheme).UniversalDecoder())
	b := fake.NewClientBuilder().WithScheme(scheme).WithObjectTracker(tracker).
		WithStatusSubresource(&v1alpha1.Rollout{}, &v1alpha1.AnalysisRun{}, &appsv1.ReplicaSet{}, &corev1.Pod{}).
		WithObjects(objs...)
	for _, ix := range rollout.Indexes() {
		b = b.WithIndex(ix.Object, ix.Field, ix.Extract)
	}
	return b.Build()
}

// Now is the simulation's clock.
func (w *World) Now() time.Time { return w.now }

// advance moves the clock forward by d, in whole seconds: status times are
// stored to the second, so a finer clock would disagree with them.
func (w *World) advance(d time.Duration) {
	if d < time.Second {
		d = time.Second
	}
	w.now = w.now.Add(d.Round(time.Second))
}

// as is the API server as seen by one actor ("controller", "user",
// "kubelet", "analysis"): every write goes through the server's own
// behaviour (UIDs, creation timestamps, generation) and is counted.
func (w *World) as(actor string) client.Client {
	return &server{Client: w.store, w: w, actor: actor}
}

// server adds to the fake client what the real API server does and the
// fake does not: a UID and creationTimestamp on create, metadata.generation
// bumped on Rollout spec changes; it also counts writes and records each
// Rollout version.
type server struct {
	client.Client
	w     *World
	actor string
}

func (s *server) Create(ctx context.Context, obj client.Object, opts ...client.CreateOption) error {
	if obj.GetUID() == "" {
		s.w.uid++
		obj.SetUID(types.UID(fmt.Sprintf("uid-%d", s.w.uid)))
	}
	if ts := obj.GetCreationTimestamp(); ts.IsZero() {
		obj.SetCreationTimestamp(metav1.NewTime(s.w.now))
	}
	if obj.GetGeneration() == 0 {
		obj.SetGeneration(1)
	}
	if err := s.Client.Create(ctx, obj, opts...); err != nil {
		return err
	}
	s.wrote(obj)
	if ev, ok := obj.(*corev1.Event); ok && s.actor == "controller" {
		// A reconcile's one Event lists every fact it tells; each is
		// judged as a decision of its own.
		var facts []events.ToldFact
		if raw := ev.Annotations[events.ToldAnnotation]; raw != "" {
			if err := json.Unmarshal([]byte(raw), &facts); err != nil {
				return fmt.Errorf("event %s: annotation %s: %w", ev.Name, events.ToldAnnotation, err)
			}
		}
		if len(facts) == 0 {
			facts = []events.ToldFact{{Reason: ev.Reason, Message: ev.Message}}
		}
		for _, f := range facts {
			s.w.journal = append(s.w.journal, journaled{name: ev.Name, reason: f.Reason, message: f.Message, subjectRV: ev.InvolvedObject.ResourceVersion})
		}
	}
	return nil
}

func (s *server) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	before, isRollout := s.rolloutBefore(ctx, obj)
	if err := s.Client.Update(ctx, obj, opts...); err != nil {
		return err
	}
	if isRollout {
		if err := s.bumpGeneration(ctx, obj, before); err != nil {
			return err
		}
	}
	s.wrote(obj)
	return nil
}

func (s *server) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
	before, isRollout := s.rolloutBefore(ctx, obj)
	if err := s.Client.Patch(ctx, obj, patch, opts...); err != nil {
		return err
	}
	if isRollout {
		if err := s.bumpGeneration(ctx, obj, before); err != nil {
			return err
		}
	}
	s.wrote(obj)
	return nil
}

func (s *server) Delete(ctx context.Context, obj client.Object, opts ...client.DeleteOption) error {
	if err := s.Client.Delete(ctx, obj, opts...); err != nil {
		return err
	}
	s.wrote(obj)
	return nil
}

func (s *server) Status() client.SubResourceWriter { return s.SubResource("status") }

func (s *server) SubResource(name string) client.SubResourceClient {
	return &subResource{SubResourceClient: s.Client.SubResource(name), s: s}
}

// subResource counts the writes to a subresource (status, eviction).
type subResource struct {
	client.SubResourceClient
	s *server
}

func (r *subResource) Create(ctx context.Context, obj, sub client.Object, opts ...client.SubResourceCreateOption) error {
	if err := r.SubResourceClient.Create(ctx, obj, sub, opts...); err != nil {
		return err
	}
	r.s.wrote(obj)
	return nil
}

func (r *subResource) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	if err := r.SubResourceClient.Update(ctx, obj, opts...); err != nil {
		return err
	}
	r.s.wrote(obj)
	return nil
}

func (r *subResource) Patch(ctx context.Context, obj client.Object, patch client.Patch, opts ...client.SubResourcePatchOption) error {
	if err := r.SubResourceClient.Patch(ctx, obj, patch, opts...); err != nil {
		return err
	}
	r.s.wrote(obj)
	return nil
}

// isRolloutObject reports whether obj is the simulated Rollout, typed,
// unstructured (set image sends it unstructured) or its metadata.
func isRolloutObject(obj client.Object) bool {
	switch o := obj.(type) {
	case *v1alpha1.Rollout:
		return true
	case *unstructured.Unstructured:
		return o.GetKind() == "Rollout"
	case *metav1.PartialObjectMetadata: // the status write reads its answer as metadata
		return o.Kind == "Rollout"
	}
	return false
}

// rolloutBefore reads the stored Rollout before a write to it.
func (s *server) rolloutBefore(ctx context.Context, obj client.Object) (*v1alpha1.Rollout, bool) {
	if !isRolloutObject(obj) {
		return nil, false
	}
	var ro v1alpha1.Rollout
	if err := s.Client.Get(ctx, client.ObjectKeyFromObject(obj), &ro); err != nil {
		return nil, false
	}
	return &ro, true
}

// bumpGeneration increments metadata.generation when a write changed the
// Rollout's spec, as the API server does, and hands the caller the object
// as finally stored.
func (s *server) bumpGeneration(ctx context.Context, obj client.Object, before *v1alpha1.Rollout) error {
	var after v1alpha1.Rollout
	if err := s.Client.Get(ctx, client.ObjectKeyFromObject(obj), &after); err != nil {
		return err
	}
	if equality.Semantic.DeepEqual(before.Spec, after.Spec) {
		return nil
	}
	after.Generation = before.Generation + 1
	if err := s.Client.Update(ctx, &after); err != nil {
		return fmt.Errorf("model: bump generation: %w", err)
	}
	switch o := obj.(type) {
	case *v1alpha1.Rollout:
		*o = after
	case *unstructured.Unstructured:
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&after)
		if err != nil {
			return err
		}
		o.Object = m
		o.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("Rollout"))
	}
	return nil
}

// wrote counts a write and, for the Rollout, records who wrote it and the
// version stored.
func (s *server) wrote(obj client.Object) {
	s.w.writes++
	if !isRolloutObject(obj) {
		return
	}
	s.w.lastRolloutWriter = s.actor
	s.w.recordVersion()
}

// recordVersion remembers the stored Rollout's current version.
func (w *World) recordVersion() {
	var ro v1alpha1.Rollout
	if err := w.store.Get(context.Background(), rolloutKey, &ro); err != nil {
		return
	}
	if _, ok := w.versions[ro.ResourceVersion]; ok {
		return
	}
	w.versions[ro.ResourceVersion] = rolloutVersion{epoch: w.epoch, podHash: ro.Status.CurrentPodHash, stepHash: ro.Status.CurrentStepHash}
}

// staleClient is the controller's cache after a restart: reads are served
// from a snapshot of the store taken some steps earlier while the
// remaining stale reconciles last; writes always reach the live store
// (where a write based on a stale read may conflict, as it would).
type staleClient struct {
	client.Client // the live store, as the controller
	snap          client.Client
	left          *int
}

func (c *staleClient) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if *c.left > 0 {
		return c.snap.Get(ctx, key, obj, opts...)
	}
	return c.Client.Get(ctx, key, obj, opts...)
}

func (c *staleClient) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	if *c.left > 0 {
		return c.snap.List(ctx, list, opts...)
	}
	return c.Client.List(ctx, list, opts...)
}

// snapshot is a copy of the objects the controller's cache holds.
type snapshot []client.Object

// takeSnapshot copies the cached kinds from the live store.
func (w *World) takeSnapshot() (snapshot, error) {
	ctx := context.Background()
	var out snapshot
	var ros v1alpha1.RolloutList
	var rss appsv1.ReplicaSetList
	var runs v1alpha1.AnalysisRunList
	var tmpls v1alpha1.AnalysisTemplateList
	var svcs corev1.ServiceList
	var ings networkingv1.IngressList
	for _, l := range []client.ObjectList{&ros, &rss, &runs, &tmpls, &svcs, &ings} {
		if err := w.store.List(ctx, l, client.InNamespace(Namespace)); err != nil {
			return nil, err
		}
	}
	for i := range ros.Items {
		out = append(out, ros.Items[i].DeepCopy())
	}
	for i := range rss.Items {
		out = append(out, rss.Items[i].DeepCopy())
	}
	for i := range runs.Items {
		out = append(out, runs.Items[i].DeepCopy())
	}
	for i := range tmpls.Items {
		out = append(out, tmpls.Items[i].DeepCopy())
	}
	for i := range svcs.Items {
		out = append(out, svcs.Items[i].DeepCopy())
	}
	for i := range ings.Items {
		out = append(out, ings.Items[i].DeepCopy())
	}
	return out, nil
}

// newController is a freshly started controller: no in-memory state; with
// snap, its cache serves the snapshot for its first stale reconciles. The
// queued recorder's events (SwitchService, AnalysisRunCreated…) are
// dropped: no invariant reads them.
func (w *World) newController(snap snapshot, stale int, left *int) *rollout.Reconciler {
	live := w.as("controller")
	var c client.Client = live
	*left = 0
	if snap != nil && stale > 0 {
		objs := make([]client.Object, len(snap))
		for i, o := range snap {
			objs[i] = o.DeepCopyObject().(client.Object)
		}
		c = &staleClient{Client: live, snap: newFakeClient(w.store.Scheme(), objs...), left: left}
		*left = stale
	}
	return &rollout.Reconciler{
		Client:    c,
		APIReader: live,
		Recorder:  &record.FakeRecorder{},
		Journal:   &events.Journal{Events: eventsGetter{c: live}, Host: "model", Now: w.Now},
		Now:       w.Now,
	}
}

// eventsGetter hands the journal the simulated API server's Events; only
// Create is used.
type eventsGetter struct{ c client.Client }

func (g eventsGetter) Events(string) typedcorev1.EventInterface { return eventWriter{c: g.c} }

// eventWriter creates Events in the store; the journal calls nothing else
// (the embedded nil interface would panic if it did, which the model
// reports).
type eventWriter struct {
	typedcorev1.EventInterface
	c client.Client
}

func (e eventWriter) Create(ctx context.Context, ev *corev1.Event, _ metav1.CreateOptions) (*corev1.Event, error) {
	ev = ev.DeepCopy()
	if err := e.c.Create(ctx, ev); err != nil {
		return nil, err
	}
	return ev, nil
}

// rolloutNow reads the live Rollout.
func (w *World) rolloutNow() (*v1alpha1.Rollout, error) {
	var ro v1alpha1.Rollout
	if err := w.store.Get(context.Background(), rolloutKey, &ro); err != nil {
		return nil, err
	}
	return &ro, nil
}

// replicaSetsNow lists the live ReplicaSets, by name.
func (w *World) replicaSetsNow() ([]appsv1.ReplicaSet, error) {
	var list appsv1.ReplicaSetList
	if err := w.store.List(context.Background(), &list, client.InNamespace(Namespace)); err != nil {
		return nil, err
	}
	slices.SortFunc(list.Items, func(a, b appsv1.ReplicaSet) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return list.Items, nil
}

// labelsOf copies a label map (nil-safe).
func labelsOf(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}
