package rollout_test

// The order in which the reconciler writes is a contract: the tests here
// run Reconcile over controller-runtime's fake client, record every write
// (decision Events journaled through the same client included) and check
// which write comes before which. They use only the exported surface
// (Reconciler, Reconcile, Indexes), in an external test package, so a
// restructuring of the package's internals cannot break them.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/events"
	"github.com/aviary-rollouts/aviary/internal/manager"
	"github.com/aviary-rollouts/aviary/internal/podhash"
	"github.com/aviary-rollouts/aviary/internal/rollout"
	"github.com/aviary-rollouts/aviary/internal/traffic/nginx"
)

// orderTestNS and orderTestName are the Rollout every case reconciles.
const (
	orderTestNS   = "shop"
	orderTestName = "web"
)

// orderClock is the fixed time every case starts at.
var orderClock = time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)

// write is one recorded write: its verb (Create, Update, Patch, Delete,
// SubResourceCreate, SubResourceUpdate, SubResourcePatch; Note for a
// change the test made between reconciles), the object's kind and name,
// and a short description (the patch body, a created ReplicaSet's size, an
// Event's reason and message).
type write struct {
	verb, kind, name, desc string
}

func (w write) String() string { return fmt.Sprintf("%s %s/%s %s", w.verb, w.kind, w.name, w.desc) }

// writeLog is every write in order.
type writeLog struct {
	mu     sync.Mutex
	writes []write
}

func (l *writeLog) add(w write) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writes = append(l.writes, w)
}

func (l *writeLog) all() []write {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]write(nil), l.writes...)
}

// recording wraps base so that every write it passes on is logged.
func recording(base client.WithWatch, log *writeLog) client.WithWatch {
	kindOf := func(c client.WithWatch, obj client.Object) string {
		gvk, err := c.GroupVersionKindFor(obj)
		if err != nil {
			return fmt.Sprintf("%T", obj)
		}
		return gvk.Kind
	}
	patchBody := func(p client.Patch, obj client.Object) string {
		data, err := p.Data(obj)
		if err != nil {
			return "unreadable patch: " + err.Error()
		}
		return string(data)
	}
	return interceptor.NewClient(base, interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			desc := ""
			switch o := obj.(type) {
			case *appsv1.ReplicaSet:
				if o.Spec.Replicas != nil {
					desc = fmt.Sprintf("replicas=%d", *o.Spec.Replicas)
				}
			case *corev1.Event:
				desc = o.Reason + ": " + o.Message
				// A reconcile's Event tells its other facts in the
				// told annotation; a rule about a reason finds it there.
				var facts []events.ToldFact
				if raw := o.Annotations[events.ToldAnnotation]; raw != "" && json.Unmarshal([]byte(raw), &facts) == nil {
					for _, f := range facts {
						desc += " | " + f.Reason + ": " + f.Message
					}
				}
			case *networkingv1.Ingress:
				desc = fmt.Sprint(o.Annotations)
			}
			log.add(write{"Create", kindOf(c, obj), obj.GetName(), desc})
			return c.Create(ctx, obj, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			log.add(write{"Update", kindOf(c, obj), obj.GetName(), ""})
			return c.Update(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
			log.add(write{"Patch", kindOf(c, obj), obj.GetName(), patchBody(p, obj)})
			return c.Patch(ctx, obj, p, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			log.add(write{"Delete", kindOf(c, obj), obj.GetName(), ""})
			return c.Delete(ctx, obj, opts...)
		},
		SubResourceCreate: func(ctx context.Context, c client.Client, sub string, obj, subObj client.Object, opts ...client.SubResourceCreateOption) error {
			log.add(write{"SubResourceCreate", kindOf(base, obj), obj.GetName(), sub})
			return c.SubResource(sub).Create(ctx, obj, subObj, opts...)
		},
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, obj client.Object, opts ...client.SubResourceUpdateOption) error {
			body, _ := json.Marshal(obj)
			log.add(write{"SubResourceUpdate", kindOf(base, obj), obj.GetName(), sub + " " + string(body)})
			return c.SubResource(sub).Update(ctx, obj, opts...)
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, obj client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
			log.add(write{"SubResourcePatch", kindOf(base, obj), obj.GetName(), sub + " " + patchBody(p, obj)})
			return c.SubResource(sub).Patch(ctx, obj, p, opts...)
		},
	})
}

// clientEvents lets events.Journal write its Events through a
// controller-runtime client (the recorded one), so they take their place
// in the write log. Only Create is used by the journal.
type clientEvents struct{ c client.Client }

func (e clientEvents) Events(string) typedcorev1.EventInterface { return eventCreator{c: e.c} }

type eventCreator struct {
	typedcorev1.EventInterface // nil: any other method panics
	c                          client.Client
}

func (e eventCreator) Create(ctx context.Context, ev *corev1.Event, _ metav1.CreateOptions) (*corev1.Event, error) {
	return ev, e.c.Create(ctx, ev)
}

// world is a fake cluster, a Reconciler over it and the log of its writes.
type world struct {
	t   *testing.T
	raw client.WithWatch // unrecorded: the test's own changes
	log *writeLog
	now time.Time
	r   *rollout.Reconciler
}

func newWorld(t *testing.T, objs ...client.Object) *world {
	t.Helper()
	scheme, err := manager.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	b := fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).
		WithStatusSubresource(&v1alpha1.Rollout{}, &v1alpha1.AnalysisRun{}, &appsv1.ReplicaSet{})
	for _, ix := range rollout.Indexes() {
		b = b.WithIndex(ix.Object, ix.Field, ix.Extract)
	}
	w := &world{t: t, raw: b.Build(), log: &writeLog{}, now: orderClock}
	c := recording(w.raw, w.log)
	clock := func() time.Time { return w.now }
	w.r = &rollout.Reconciler{Client: c, APIReader: c, Now: clock,
		Journal: &events.Journal{Events: clientEvents{c}, Host: "order-test", Now: clock}}
	return w
}

// reconcile runs one Reconcile of the Rollout and returns the writes it made.
func (w *world) reconcile() []write {
	w.t.Helper()
	from := len(w.log.all())
	req := ctrl.Request{NamespacedName: types.NamespacedName{Namespace: orderTestNS, Name: orderTestName}}
	if _, err := w.r.Reconcile(context.Background(), req); err != nil {
		w.t.Fatalf("reconcile: %v\nwrites so far:\n%s", err, list(w.log.all()))
	}
	return w.log.all()[from:]
}

// note puts a change the test makes between reconciles in the log, so a
// rule can say that a write comes after it.
func (w *world) note(what string) { w.log.add(write{"Note", "", "", what}) }

// setReplicaSetStatus gives the ReplicaSet of hash n pods, all ready and
// available (the fake cluster runs no ReplicaSet controller), and notes it.
func (w *world) setReplicaSetStatus(hash string, n int32) {
	w.t.Helper()
	var rs appsv1.ReplicaSet
	key := types.NamespacedName{Namespace: orderTestNS, Name: podhash.ReplicaSetName(orderTestName, hash)}
	if err := w.raw.Get(context.Background(), key, &rs); err != nil {
		w.t.Fatal(err)
	}
	rs.Status = appsv1.ReplicaSetStatus{Replicas: n, ReadyReplicas: n, AvailableReplicas: n, FullyLabeledReplicas: n, ObservedGeneration: rs.Generation}
	if err := w.raw.Status().Update(context.Background(), &rs); err != nil {
		w.t.Fatal(err)
	}
	w.note(fmt.Sprintf("ReplicaSet %s has %d available pods", rs.Name, n))
}

// podsFollowSpec gives every ReplicaSet whose available pods differ from
// its spec.replicas that many, as if they started at once.
func (w *world) podsFollowSpec() {
	w.t.Helper()
	var rsList appsv1.ReplicaSetList
	if err := w.raw.List(context.Background(), &rsList, client.InNamespace(orderTestNS)); err != nil {
		w.t.Fatal(err)
	}
	for _, rs := range rsList.Items {
		if n := *rs.Spec.Replicas; rs.Status.AvailableReplicas != n {
			w.setReplicaSetStatus(rs.Labels[v1alpha1.DefaultRolloutUniqueLabelKey], n)
		}
	}
}

// patchRolloutStatus applies a user's status patch (what the CLI sends).
func (w *world) patchRolloutStatus(patch string) {
	w.t.Helper()
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Namespace: orderTestNS, Name: orderTestName}}
	if err := w.raw.Status().Patch(context.Background(), ro, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
		w.t.Fatal(err)
	}
	w.note("user patched status " + patch)
}

// rolloutNow reads the stored Rollout.
func (w *world) rolloutNow() *v1alpha1.Rollout {
	w.t.Helper()
	var ro v1alpha1.Rollout
	if err := w.raw.Get(context.Background(), types.NamespacedName{Namespace: orderTestNS, Name: orderTestName}, &ro); err != nil {
		w.t.Fatal(err)
	}
	return &ro
}

func list(ws []write) string {
	var b strings.Builder
	for i, w := range ws {
		fmt.Fprintf(&b, "  %2d %s\n", i, w)
	}
	return b.String()
}

// match picks writes: every non-empty field must be equal (verb, kind,
// name) and every string in contains be part of the description.
type match struct {
	verb, kind, name string
	contains         []string
}

func (m match) String() string {
	verb := m.verb
	if verb == "" {
		verb = "a write of"
	}
	return fmt.Sprintf("%s %s/%s containing %q", verb, m.kind, m.name, m.contains)
}

func (m match) matches(w write) bool {
	if (m.verb != "" && m.verb != w.verb) || (m.kind != "" && m.kind != w.kind) || (m.name != "" && m.name != w.name) {
		return false
	}
	for _, c := range m.contains {
		if !strings.Contains(w.desc, c) {
			return false
		}
	}
	return true
}

// first is the index of the first write m matches, or -1.
func (m match) first(ws []write) int {
	for i, w := range ws {
		if m.matches(w) {
			return i
		}
	}
	return -1
}

// rule is one ordering rule: the first write matching before comes
// before the first write matching after, and both happen.
type rule struct {
	before, after match
}

func checkRules(t *testing.T, ws []write, rules []rule) {
	t.Helper()
	for _, r := range rules {
		b, a := r.before.first(ws), r.after.first(ws)
		switch {
		case b < 0:
			t.Errorf("no write %s\nwrites:\n%s", r.before, list(ws))
		case a < 0:
			t.Errorf("no write %s\nwrites:\n%s", r.after, list(ws))
		case b > a:
			t.Errorf("write %d (%s) must come before write %d (%s)\nwrites:\n%s", b, r.before, a, r.after, list(ws))
		}
	}
}

// Fixtures. Hashes are computed as the reconciler computes them, from the
// pod templates, so the ReplicaSets are the ones it recognises.

func podTemplate(image string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: image}}},
	}
}

func hashOf(image string) string {
	t := podTemplate(image)
	return podhash.PodTemplateHash(&t, nil)
}

const (
	blueImage  = "shop/web:blue"
	greenImage = "shop/web:green"
)

var (
	blue  = hashOf(blueImage)
	green = hashOf(greenImage)
)

// newRollout is the Rollout web at image with strategy, its status already
// written once by a controller (so no RolloutAddedToInformer event).
func newRollout(image string, replicas int32, strategy v1alpha1.RolloutStrategy) *v1alpha1.Rollout {
	ro := &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Namespace: orderTestNS, Name: orderTestName, UID: "web-uid", Generation: 1,
			Annotations: map[string]string{v1alpha1.RevisionAnnotation: "2"}},
		Spec: v1alpha1.RolloutSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: podTemplate(image),
			Strategy: strategy,
		},
	}
	ro.Status.ObservedGeneration = "1"
	if c := strategy.Canary; c != nil {
		ro.Status.CurrentStepHash = podhash.StepHash(c.Steps)
	}
	return ro
}

// replicaSet is the Rollout's ReplicaSet for image at revision, sized
// replicas with available pods.
func replicaSet(ro *v1alpha1.Rollout, image string, revision, replicas, available int32) *appsv1.ReplicaSet {
	hash := hashOf(image)
	tmpl := podTemplate(image)
	tmpl.Labels[v1alpha1.DefaultRolloutUniqueLabelKey] = hash
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: orderTestNS, Name: podhash.ReplicaSetName(ro.Name, hash),
			Labels: map[string]string{"app": "web", v1alpha1.DefaultRolloutUniqueLabelKey: hash},
			Annotations: map[string]string{
				v1alpha1.RevisionAnnotation:        fmt.Sprint(revision),
				v1alpha1.DesiredReplicasAnnotation: fmt.Sprint(*ro.Spec.Replicas),
			},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(ro, v1alpha1.GroupVersion.WithKind("Rollout"))},
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web", v1alpha1.DefaultRolloutUniqueLabelKey: hash}},
			Template: tmpl,
		},
		Status: appsv1.ReplicaSetStatus{Replicas: replicas, ReadyReplicas: available, AvailableReplicas: available, FullyLabeledReplicas: replicas},
	}
}

// service is a Service the Rollout already manages, selecting hash.
func service(name, hash string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: orderTestNS, Name: name,
			Annotations: map[string]string{v1alpha1.ManagedByRolloutsKey: orderTestName}},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web", v1alpha1.DefaultRolloutUniqueLabelKey: hash},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
}

func selects(hash string) string {
	return fmt.Sprintf(`"selector":{"%s":"%s"}`, v1alpha1.DefaultRolloutUniqueLabelKey, hash)
}

// routedCanary is a canary through NGINX with web-canary and web-stable.
func routedCanary(steps ...v1alpha1.CanaryStep) v1alpha1.RolloutStrategy {
	return v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
		CanaryService: "web-canary", StableService: "web-stable", Steps: steps,
		TrafficRouting: &v1alpha1.RolloutTrafficRouting{Nginx: &v1alpha1.NginxTrafficRouting{StableIngress: "web"}},
	}}
}

// ingresses are the stable Ingress web and the canary Ingress the router
// keeps beside it, at weight.
func ingresses(t *testing.T, ro *v1alpha1.Rollout, weight int32) []client.Object {
	t.Helper()
	pathType := networkingv1.PathTypePrefix
	class := "nginx"
	stable := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: orderTestNS, Name: "web"},
		Spec: networkingv1.IngressSpec{IngressClassName: &class, Rules: []networkingv1.IngressRule{{
			Host: "web.shop.example",
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: &pathType,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "web-stable", Port: networkingv1.ServiceBackendPort{Number: 80}}},
			}}}},
		}}},
	}
	canary, err := nginx.DesiredCanaryIngress(ro, stable, weight)
	if err != nil {
		t.Fatal(err)
	}
	return []client.Object{stable, canary}
}

var canaryIngress = nginx.CanaryIngressName(orderTestName, "web")

func weightIs(w int32) string {
	return fmt.Sprintf(`"nginx.ingress.kubernetes.io/canary-weight":"%d"`, w)
}

func weights(canary, stable int32, canaryHash, stableHash string) *v1alpha1.TrafficWeights {
	return &v1alpha1.TrafficWeights{
		Canary: v1alpha1.WeightDestination{Weight: canary, ServiceName: "web-canary", PodTemplateHash: canaryHash},
		Stable: v1alpha1.WeightDestination{Weight: stable, ServiceName: "web-stable", PodTemplateHash: stableHash},
	}
}

func setWeight(w int32) v1alpha1.CanaryStep { return v1alpha1.CanaryStep{SetWeight: &w} }

func pause() v1alpha1.CanaryStep { return v1alpha1.CanaryStep{Pause: &v1alpha1.RolloutPause{}} }

func stepIndex(i int32) *int32 { return &i }

// The writes the rules name.

// statusWrite is a write of the Rollout's status (a patch or an update of
// the subresource) whose description contains parts.
func statusWrite(parts ...string) match {
	return match{kind: "Rollout", name: orderTestName, contains: append([]string{"status {"}, parts...)}
}

func event(reason string) match {
	return match{verb: "Create", kind: "Event", contains: []string{reason + ": "}}
}

func serviceSwitch(name, hash string) match {
	return match{verb: "Patch", kind: "Service", name: name, contains: []string{selects(hash)}}
}

func canaryWeight(w int32) match {
	return match{verb: "Patch", kind: "Ingress", name: canaryIngress, contains: []string{weightIs(w)}}
}

// created is the Create of the ReplicaSet of hash at replicas.
func created(hash string, replicas int32) match {
	return match{verb: "Create", kind: "ReplicaSet", name: rsName(hash), contains: []string{fmt.Sprintf("replicas=%d", replicas)}}
}

// scaled is a patch of the ReplicaSet of hash to replicas.
func scaled(hash string, replicas int32) match {
	return match{verb: "Patch", kind: "ReplicaSet", name: rsName(hash), contains: []string{fmt.Sprintf(`"replicas":%d`, replicas)}}
}

// available is the test's note that the ReplicaSet of hash has n
// available pods.
func available(hash string, n int32) match {
	return noted(fmt.Sprintf("%s has %d available", rsName(hash), n))
}

func noted(what string) match { return match{verb: "Note", contains: []string{what}} }

func rsName(hash string) string { return podhash.ReplicaSetName(orderTestName, hash) }

// TestOrder pins the order of the reconciler's writes, one rule a case.
func TestOrder(t *testing.T) {
	for _, tc := range []struct {
		name string
		// setup builds the world; run drives it through reconciles and
		// returns the writes the rules are checked on.
		setup func(t *testing.T) *world
		run   func(t *testing.T, w *world) []write
		rules []rule
		// check is anything else the case asserts.
		check func(t *testing.T, w *world, ws []write)
	}{
		{
			name: "routed canary promotion: the stable Service moves to the new hash before the router takes the weight off the canary, and status is written last",
			setup: func(t *testing.T) *world {
				ro := newRollout(greenImage, 2, routedCanary(setWeight(50)))
				ro.Status.StableRS, ro.Status.CurrentPodHash, ro.Status.CurrentStepIndex = blue, green, stepIndex(1)
				ro.Status.Canary.Weights = weights(100, 0, green, blue)
				objs := []client.Object{ro, replicaSet(ro, blueImage, 1, 2, 2), replicaSet(ro, greenImage, 2, 2, 2),
					service("web-stable", blue), service("web-canary", green)}
				return newWorld(t, append(objs, ingresses(t, ro, 100)...)...)
			},
			run: func(t *testing.T, w *world) []write { return w.reconcile() },
			rules: []rule{
				{serviceSwitch("web-stable", green), canaryWeight(0)},
				{canaryWeight(0), event("RolloutCompleted")},
				{event("RolloutCompleted"), statusWrite()},
			},
			check: func(t *testing.T, w *world, ws []write) {
				lastWrite(t, ws, statusWrite())
				if st := w.rolloutNow().Status; st.StableRS != green {
					t.Errorf("status.stableRS = %q, want the new hash %q", st.StableRS, green)
				}
			},
		},
		{
			name: "canary step completed and paused: both decision events are journaled before the status write that records them",
			setup: func(t *testing.T) *world {
				ro := newRollout(greenImage, 4, v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{setWeight(50), pause()}}})
				ro.Status.StableRS, ro.Status.CurrentPodHash, ro.Status.CurrentStepIndex = blue, green, stepIndex(0)
				return newWorld(t, ro, replicaSet(ro, blueImage, 1, 2, 2), replicaSet(ro, greenImage, 2, 2, 2))
			},
			run: func(t *testing.T, w *world) []write { return w.reconcile() },
			rules: []rule{
				{event("RolloutStepCompleted"), statusWrite()},
				{event("RolloutPaused"), statusWrite()},
			},
			check: func(t *testing.T, w *world, ws []write) {
				st := w.rolloutNow().Status
				if st.CurrentStepIndex == nil || *st.CurrentStepIndex != 1 || len(st.PauseConditions) != 1 {
					t.Errorf("status: step %v, pause conditions %v; want step 1, paused", st.CurrentStepIndex, st.PauseConditions)
				}
			},
		},
		{
			name: "blue-green promotion: the decision (RolloutResumed) is journaled before the active Service switches, and the completion before the status write",
			setup: func(t *testing.T) *world {
				manual := false
				ro := newRollout(greenImage, 2, v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{
					ActiveService: "web-active", PreviewService: "web-preview", AutoPromotionEnabled: &manual}})
				ro.Status.StableRS, ro.Status.CurrentPodHash = blue, green
				ro.Status.BlueGreen.ActiveSelector, ro.Status.BlueGreen.PreviewSelector = blue, green
				// A user promoted: `kubectl argo rollouts promote` cleared
				// the BlueGreenPause; the controller still holds it.
				ro.Status.ControllerPause = true
				return newWorld(t, ro, replicaSet(ro, blueImage, 1, 2, 2), replicaSet(ro, greenImage, 2, 2, 2),
					service("web-active", blue), service("web-preview", green))
			},
			run: func(t *testing.T, w *world) []write {
				ws := w.reconcile()
				return append(ws, w.reconcile()...)
			},
			rules: []rule{
				{event("RolloutResumed"), serviceSwitch("web-active", green)},
				{event("RolloutResumed"), statusWrite()},
				{serviceSwitch("web-active", green), event("RolloutCompleted")},
				{event("RolloutCompleted"), statusWrite(`"stableRS":"` + green + `"`)},
			},
		},
		{
			name: "a new ReplicaSet is created at its step's size in one Create, before any Service points at it",
			setup: func(t *testing.T) *world {
				// Fully promoted at blue; the template has just changed to green.
				ro := newRollout(greenImage, 4, routedCanary(setWeight(25), pause()))
				ro.Annotations[v1alpha1.RevisionAnnotation] = "1"
				ro.Status.StableRS, ro.Status.CurrentPodHash, ro.Status.CurrentStepIndex = blue, blue, stepIndex(2)
				ro.Status.Canary.Weights = weights(0, 100, blue, blue)
				objs := []client.Object{ro, replicaSet(ro, blueImage, 1, 4, 4), service("web-stable", blue), service("web-canary", blue)}
				return newWorld(t, append(objs, ingresses(t, ro, 0)...)...)
			},
			run: func(t *testing.T, w *world) []write {
				w.reconcile()
				w.setReplicaSetStatus(green, 1)
				w.reconcile()
				return w.log.all()
			},
			rules: []rule{
				{created(green, 1), serviceSwitch("web-canary", green)},
				{available(green, 1), serviceSwitch("web-canary", green)},
			},
			check: func(t *testing.T, w *world, ws []write) {
				never(t, ws, match{verb: "Patch", kind: "ReplicaSet", name: rsName(green), contains: []string{`"replicas"`}})
				never(t, ws, created(green, 0))
			},
		},
		{
			name: "abort of a routed canary: the weight goes to 0 before the canary ReplicaSet is scaled down",
			setup: func(t *testing.T) *world {
				ro := newRollout(greenImage, 2, routedCanary(setWeight(50), pause()))
				ro.Status.StableRS, ro.Status.CurrentPodHash, ro.Status.CurrentStepIndex = blue, green, stepIndex(1)
				ro.Status.Canary.Weights = weights(50, 50, green, blue)
				ro.Status.ControllerPause = true
				ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: metav1.NewTime(orderClock.Add(-time.Minute))}}
				objs := []client.Object{ro, replicaSet(ro, blueImage, 1, 2, 2), replicaSet(ro, greenImage, 2, 1, 1),
					service("web-stable", blue), service("web-canary", green)}
				return newWorld(t, append(objs, ingresses(t, ro, 50)...)...)
			},
			run: func(t *testing.T, w *world) []write {
				w.patchRolloutStatus(`{"status":{"abort":true}}`) // kubectl argo rollouts abort
				w.reconcile()
				// abortScaleDownDelaySeconds (30 s by default) passes.
				w.now = w.now.Add(31 * time.Second)
				w.note("31s later")
				w.reconcile()
				return w.log.all()
			},
			rules: []rule{
				{canaryWeight(0), scaled(green, 0)},
				{event("RolloutAborted"), statusWrite()},
			},
		},
		{
			name: "abort of a dynamicStableScale routed canary: the stable is scaled back up, then the weight goes to 0, then the canary ReplicaSet is scaled down",
			setup: func(t *testing.T) *world {
				strategy := routedCanary(setWeight(50), pause())
				strategy.Canary.DynamicStableScale = true
				ro := newRollout(greenImage, 4, strategy)
				ro.Status.StableRS, ro.Status.CurrentPodHash, ro.Status.CurrentStepIndex = blue, green, stepIndex(1)
				ro.Status.Canary.Weights = weights(50, 50, green, blue)
				ro.Status.ControllerPause = true
				ro.Status.PauseConditions = []v1alpha1.PauseCondition{{Reason: v1alpha1.PauseReasonCanaryPauseStep, StartTime: metav1.NewTime(orderClock.Add(-time.Minute))}}
				objs := []client.Object{ro, replicaSet(ro, blueImage, 1, 2, 2), replicaSet(ro, greenImage, 2, 2, 2),
					service("web-stable", blue), service("web-canary", green)}
				return newWorld(t, append(objs, ingresses(t, ro, 50)...)...)
			},
			run: func(t *testing.T, w *world) []write {
				w.patchRolloutStatus(`{"status":{"abort":true}}`)
				for range 5 {
					w.reconcile()
					w.podsFollowSpec()
					w.now = w.now.Add(31 * time.Second)
				}
				return w.log.all()
			},
			rules: []rule{
				{scaled(blue, 4), available(blue, 4)},
				{available(blue, 4), canaryWeight(0)},
				{canaryWeight(0), scaled(green, 0)},
			},
		},
		{
			name: "blue-green: the preview Service points at the new ReplicaSet before the active Service switches, and the switch waits for the new ReplicaSet to be available",
			setup: func(t *testing.T) *world {
				// Fully promoted at blue; the template has just changed to green.
				ro := newRollout(greenImage, 2, v1alpha1.RolloutStrategy{BlueGreen: &v1alpha1.BlueGreenStrategy{
					ActiveService: "web-active", PreviewService: "web-preview"}})
				ro.Annotations[v1alpha1.RevisionAnnotation] = "1"
				ro.Status.StableRS, ro.Status.CurrentPodHash = blue, blue
				ro.Status.BlueGreen.ActiveSelector, ro.Status.BlueGreen.PreviewSelector = blue, blue
				return newWorld(t, ro, replicaSet(ro, blueImage, 1, 2, 2), service("web-active", blue), service("web-preview", blue))
			},
			run: func(t *testing.T, w *world) []write {
				w.reconcile()
				w.setReplicaSetStatus(green, 1)
				w.reconcile()
				w.setReplicaSetStatus(green, 2)
				w.reconcile()
				return w.log.all()
			},
			rules: []rule{
				{created(green, 2), serviceSwitch("web-preview", green)},
				{serviceSwitch("web-preview", green), serviceSwitch("web-active", green)},
				{available(green, 2), serviceSwitch("web-active", green)},
			},
		},
		{
			name: "analysis step: the AnalysisRun is created before the status write that names it",
			setup: func(t *testing.T) *world {
				ro := newRollout(greenImage, 4, v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{
					setWeight(50), {Analysis: &v1alpha1.RolloutAnalysis{Templates: []v1alpha1.AnalysisTemplateRef{{TemplateName: "smoke"}}}}, pause()}}})
				ro.Status.StableRS, ro.Status.CurrentPodHash, ro.Status.CurrentStepIndex = blue, green, stepIndex(1)
				at := &v1alpha1.AnalysisTemplate{ObjectMeta: metav1.ObjectMeta{Namespace: orderTestNS, Name: "smoke"},
					Spec: v1alpha1.AnalysisTemplateSpec{Metrics: []v1alpha1.Metric{{Name: "up",
						Provider: v1alpha1.MetricProvider{Prometheus: &v1alpha1.PrometheusMetric{Query: "up"}}}}}}
				return newWorld(t, ro, at, replicaSet(ro, blueImage, 1, 2, 2), replicaSet(ro, greenImage, 2, 2, 2))
			},
			run: func(t *testing.T, w *world) []write { return w.reconcile() },
			rules: []rule{
				{match{verb: "Create", kind: "AnalysisRun"}, statusWrite(`"currentStepAnalysisRunStatus":{"name":"`)},
			},
			check: func(t *testing.T, w *world, ws []write) {
				created := ws[match{verb: "Create", kind: "AnalysisRun"}.first(ws)].name
				if ref := w.rolloutNow().Status.Canary.CurrentStepAnalysisRunStatus; ref == nil || ref.Name != created {
					t.Errorf("status names run %v, want %s", ref, created)
				}
			},
		},
		{
			name: "a rollout whose status is unchanged gets no status write: a second reconcile of a paused canary writes nothing",
			setup: func(t *testing.T) *world {
				ro := newRollout(greenImage, 4, v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{setWeight(50), pause()}}})
				ro.Status.StableRS, ro.Status.CurrentPodHash, ro.Status.CurrentStepIndex = blue, green, stepIndex(0)
				return newWorld(t, ro, replicaSet(ro, blueImage, 1, 2, 2), replicaSet(ro, greenImage, 2, 2, 2))
			},
			run: func(t *testing.T, w *world) []write {
				if first := w.reconcile(); statusWrite().first(first) < 0 {
					t.Fatalf("the first reconcile should pause the rollout; writes:\n%s", list(first))
				}
				w.note("second reconcile")
				w.reconcile()
				return w.log.all()
			},
			check: func(t *testing.T, w *world, ws []write) {
				nothingAfter(t, ws, noted("second reconcile"))
			},
		},
		{
			name: "a rollout whose status is unchanged gets no status write: a second reconcile of a promoted routed canary writes nothing",
			setup: func(t *testing.T) *world {
				ro := newRollout(greenImage, 2, routedCanary(setWeight(50)))
				ro.Status.StableRS, ro.Status.CurrentPodHash, ro.Status.CurrentStepIndex = blue, green, stepIndex(1)
				ro.Status.Canary.Weights = weights(100, 0, green, blue)
				objs := []client.Object{ro, replicaSet(ro, blueImage, 1, 2, 2), replicaSet(ro, greenImage, 2, 2, 2),
					service("web-stable", blue), service("web-canary", green)}
				return newWorld(t, append(objs, ingresses(t, ro, 100)...)...)
			},
			run: func(t *testing.T, w *world) []write {
				w.reconcile()
				w.note("second reconcile")
				w.reconcile()
				return w.log.all()
			},
			check: func(t *testing.T, w *world, ws []write) {
				nothingAfter(t, ws, noted("second reconcile"))
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := tc.setup(t)
			ws := tc.run(t, w)
			t.Logf("writes:\n%s", list(ws))
			checkRules(t, ws, tc.rules)
			if tc.check != nil {
				tc.check(t, w, ws)
			}
		})
	}
}

// lastWrite asserts that the last write is m.
func lastWrite(t *testing.T, ws []write, m match) {
	t.Helper()
	if len(ws) == 0 || !m.matches(ws[len(ws)-1]) {
		t.Errorf("the last write must be %s\nwrites:\n%s", m, list(ws))
	}
}

// never asserts that no write is m.
func never(t *testing.T, ws []write, m match) {
	t.Helper()
	if i := m.first(ws); i >= 0 {
		t.Errorf("write %d must not happen: %s\nwrites:\n%s", i, ws[i], list(ws))
	}
}

// nothingAfter asserts that the first write matching m is the last entry.
func nothingAfter(t *testing.T, ws []write, m match) {
	t.Helper()
	i := m.first(ws)
	if i < 0 {
		t.Fatalf("no %s\nwrites:\n%s", m, list(ws))
	}
	if i != len(ws)-1 {
		t.Errorf("nothing may be written after %s\nwrites:\n%s", ws[i], list(ws))
	}
}

// TestScaleOnlyReconcileDefersItsStatus: a reconcile that only scales, its
// status moved only with the pods, writes the scale alone; the reconcile
// the scale brings writes the status and tells the scale with its own
// decision, in one Event.
func TestScaleOnlyReconcileDefersItsStatus(t *testing.T) {
	ro := newRollout(greenImage, 2, v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{Steps: []v1alpha1.CanaryStep{setWeight(50), pause()}}})
	ro.Status.StableRS, ro.Status.CurrentPodHash, ro.Status.CurrentStepIndex = blue, green, stepIndex(0)
	w := newWorld(t, ro, replicaSet(ro, blueImage, 1, 2, 2), replicaSet(ro, greenImage, 2, 1, 0))
	w.reconcile() // the canary pod is starting: counts written

	w.setReplicaSetStatus(green, 1)
	ws := w.reconcile()
	if got := list(ws); !strings.Contains(got, "Patch ReplicaSet/"+rsName(blue)) || strings.Contains(got, "SubResourcePatch Rollout") || strings.Contains(got, "Create Event") {
		t.Fatalf("the stable's scale-down should be written alone, status and event deferred:\n%s", got)
	}

	w.setReplicaSetStatus(blue, 1)
	ws = w.reconcile()
	ev := match{verb: "Create", kind: "Event", contains: []string{"RolloutStepCompleted: ", "ScalingReplicaSet: Scaled down ReplicaSet " + rsName(blue), "RolloutPaused: "}}
	checkRules(t, ws, []rule{{ev, statusWrite()}})
	if n := strings.Count(list(ws), "Create Event"); n != 1 {
		t.Errorf("%d events, want the reconcile's one:\n%s", n, list(ws))
	}
	if st := w.rolloutNow().Status; st.CurrentStepIndex == nil || *st.CurrentStepIndex != 1 || st.AvailableReplicas != 2 {
		t.Errorf("status: step %v, available %d; want step 1, 2 available", st.CurrentStepIndex, st.AvailableReplicas)
	}
}
