package smi

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// harness is a Router over a fake client that knows the TrafficSplit kind
// at every version, counts writes and records event reasons.
type harness struct {
	c       client.Client
	creates int
	patches int
	events  []string
	// hideNext makes the next Get answer NotFound, as a lagging cache would.
	hideNext bool
	// createErr, when set, is what every Create returns.
	createErr error
}

func newHarness(objs ...client.Object) *harness {
	mapper := meta.NewDefaultRESTMapper(nil)
	for _, v := range APIVersions {
		gvk, _ := GVK(v)
		mapper.Add(gvk, meta.RESTScopeNamespace)
	}
	h := &harness{}
	h.c = fake.NewClientBuilder().WithRESTMapper(mapper).WithObjects(objs...).WithInterceptorFuncs(interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if h.hideNext {
				h.hideNext = false
				return apierrors.NewNotFound(schema.GroupResource{Group: Group, Resource: Resource}, key.Name)
			}
			return c.Get(ctx, key, obj, opts...)
		},
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			h.creates++
			if h.createErr != nil {
				return h.createErr
			}
			return c.Create(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
			h.patches++
			return c.Patch(ctx, obj, p, opts...)
		},
		Update: func(context.Context, client.WithWatch, client.Object, ...client.UpdateOption) error {
			return errors.New("the router must patch, not update")
		},
	}).Build()
	return h
}

func (h *harness) router(ro *v1alpha1.Rollout, version string) *Router {
	return &Router{Client: h.c, Rollout: ro, APIVersion: version,
		Recorder: func(reason, _ string) { h.events = append(h.events, reason) }}
}

// get reads the TrafficSplit name at version.
func (h *harness) get(t *testing.T, version, name string) *unstructured.Unstructured {
	t.Helper()
	gvk, err := GVK(version)
	if err != nil {
		t.Fatal(err)
	}
	obj := &unstructured.Unstructured{}
	obj.SetGroupVersionKind(gvk)
	if err := h.c.Get(context.Background(), types.NamespacedName{Namespace: "ns", Name: name}, obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

// backends is the live spec.backends as (service, weight) pairs.
func backends(t *testing.T, obj *unstructured.Unstructured) [][2]any {
	t.Helper()
	list, _, err := unstructured.NestedSlice(obj.Object, "spec", "backends")
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]any
	for _, b := range list {
		m := b.(map[string]any)
		out = append(out, [2]any{m["service"], m["weight"]})
	}
	return out
}

func TestRouterSetWeight(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		version string // Router.APIVersion; "" is v1alpha1
		read    string // the version the split is stored under
		w5, w20 [][2]any
	}{
		{"", "v1alpha1",
			[][2]any{{"rollout-smi-canary", "5"}, {"rollout-smi-stable", "95"}},
			[][2]any{{"rollout-smi-canary", "20"}, {"exp", "10"}, {"rollout-smi-stable", "70"}}},
		{"v1alpha2", "v1alpha2",
			[][2]any{{"rollout-smi-canary", int64(5)}, {"rollout-smi-stable", int64(95)}},
			[][2]any{{"rollout-smi-canary", int64(20)}, {"exp", int64(10)}, {"rollout-smi-stable", int64(70)}}},
		{"v1alpha3", "v1alpha3",
			[][2]any{{"rollout-smi-canary", int64(5)}, {"rollout-smi-stable", int64(95)}},
			[][2]any{{"rollout-smi-canary", int64(20)}, {"exp", int64(10)}, {"rollout-smi-stable", int64(70)}}},
	} {
		t.Run(c.read, func(t *testing.T) {
			h := newHarness()
			ro := rollout(&v1alpha1.SMITrafficRouting{})

			// Missing: created, controlled by the rollout, one event.
			if err := h.router(ro, c.version).SetWeight(ctx, 5); err != nil {
				t.Fatal(err)
			}
			got := h.get(t, c.read, "rollout-smi")
			if !metav1.IsControlledBy(got, ro) {
				t.Fatalf("owner references %+v", got.GetOwnerReferences())
			}
			if svc, _, _ := unstructured.NestedString(got.Object, "spec", "service"); svc != "rollout-smi-stable" {
				t.Fatalf("root service %q", svc)
			}
			if b := backends(t, got); !reflect.DeepEqual(b, c.w5) {
				t.Fatalf("created backends %v, want %v", b, c.w5)
			}
			if h.creates != 1 || h.patches != 0 || !reflect.DeepEqual(h.events, []string{EventTrafficSplitCreated}) {
				t.Fatalf("creates %d patches %d events %v", h.creates, h.patches, h.events)
			}

			// Unchanged: no write at all.
			if err := h.router(ro, c.version).SetWeight(ctx, 5); err != nil {
				t.Fatal(err)
			}
			if h.creates != 1 || h.patches != 0 || len(h.events) != 1 {
				t.Fatalf("same weight must not write: creates %d patches %d events %v", h.creates, h.patches, h.events)
			}

			// Changed, with an experiment destination: one merge patch.
			if err := h.router(ro, c.version).SetWeight(ctx, 20, traffic.WeightDestination{ServiceName: "exp", Weight: 10}); err != nil {
				t.Fatal(err)
			}
			if b := backends(t, h.get(t, c.read, "rollout-smi")); !reflect.DeepEqual(b, c.w20) {
				t.Fatalf("patched backends %v, want %v", b, c.w20)
			}
			if h.creates != 1 || h.patches != 1 {
				t.Fatalf("creates %d patches %d", h.creates, h.patches)
			}
		})
	}
}

func TestRouterSetWeightKeepsForeignSpecFields(t *testing.T) {
	ctx := context.Background()
	h := newHarness()
	ro := rollout(&v1alpha1.SMITrafficRouting{RootService: "root", TrafficSplitName: "split"})
	r := h.router(ro, "v1alpha3")
	if err := r.SetWeight(ctx, 5); err != nil {
		t.Fatal(err)
	}
	// A user restricts the split to an HTTPRouteGroup; the router leaves
	// that alone.
	obj := h.get(t, "v1alpha3", "split")
	matches := []any{map[string]any{"kind": "HTTPRouteGroup", "name": "g"}}
	if err := h.c.Patch(ctx, obj, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"matches":[{"kind":"HTTPRouteGroup","name":"g"}]}}`))); err != nil {
		t.Fatal(err)
	}
	h.patches = 0
	if err := r.SetWeight(ctx, 50); err != nil {
		t.Fatal(err)
	}
	obj = h.get(t, "v1alpha3", "split")
	if got, _, _ := unstructured.NestedSlice(obj.Object, "spec", "matches"); !reflect.DeepEqual(got, matches) {
		t.Fatalf("matches %v, want %v", got, matches)
	}
	if b := backends(t, obj); !reflect.DeepEqual(b, [][2]any{{"rollout-smi-canary", int64(50)}, {"rollout-smi-stable", int64(50)}}) || h.patches != 1 {
		t.Fatalf("backends %v patches %d", b, h.patches)
	}
}

func TestRouterSetWeightErrors(t *testing.T) {
	ctx := context.Background()
	ro := rollout(&v1alpha1.SMITrafficRouting{TrafficSplitName: "split"})
	gvk, _ := GVK("v1alpha1")
	foreign := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"service": "root"}}}
	foreign.SetGroupVersionKind(gvk)
	foreign.SetNamespace("ns")
	foreign.SetName("split")
	// Owned by the rollout but not as its controller: still not ours.
	foreign.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout", Name: "rollout-smi", UID: "ro-uid"}})

	for _, c := range []struct {
		name      string
		objs      []client.Object
		version   string
		want      string
		specError bool
	}{
		{"not controlled by the rollout", []client.Object{foreign}, "v1alpha1",
			`spec.strategy.canary.trafficRouting.smi.trafficSplitName: Rollout does not own TrafficSplit "split" in namespace "ns" (it is not its controller): delete it or choose another name`, true},
		{"unsupported API version", nil, "v2", `unsupported TrafficSplit API version "v2"`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(c.objs...)
			err := h.router(ro, c.version).SetWeight(ctx, 5)
			var se *traffic.SpecError
			if err == nil || !strings.Contains(err.Error(), c.want) || errors.As(err, &se) != c.specError {
				t.Fatalf("error %v (SpecError %v), want %q (SpecError %v)", err, se != nil, c.want, c.specError)
			}
			if h.creates != 0 || h.patches != 0 || len(h.events) != 0 {
				t.Fatalf("no write expected: creates %d patches %d events %v", h.creates, h.patches, h.events)
			}
		})
	}
}

func TestRouterSetWeightCreateFails(t *testing.T) {
	ctx := context.Background()
	h := newHarness()
	// A refused create (RBAC, a webhook) may clear on retry, so it is a
	// plain error, not a SpecError.
	h.createErr = apierrors.NewForbidden(schema.GroupResource{Group: Group, Resource: Resource}, "rollout-smi", errors.New("no RBAC"))
	err := h.router(rollout(nil), "").SetWeight(ctx, 5)
	var se *traffic.SpecError
	if err == nil || !apierrors.IsForbidden(err) || errors.As(err, &se) || !strings.Contains(err.Error(), "create TrafficSplit ns/rollout-smi") {
		t.Fatalf("error %v", err)
	}
	if !reflect.DeepEqual(h.events, []string{EventTrafficSplitNotCreated}) {
		t.Fatalf("events %v", h.events)
	}
}

func TestRouterSetWeightToleratesCreateRace(t *testing.T) {
	ctx := context.Background()
	ro := rollout(nil)
	// Another reconcile created the split at weight 5; our cache has not
	// seen it, so the first read misses and the create finds it.
	gvk, _ := GVK("v1alpha2")
	existing := NewTrafficSplit(ro, gvk, "rollout-smi", DesiredSpec(ro, 5))
	h := newHarness(existing)
	h.hideNext = true
	if err := h.router(ro, "v1alpha2").SetWeight(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if b := backends(t, h.get(t, "v1alpha2", "rollout-smi")); !reflect.DeepEqual(b, [][2]any{{"rollout-smi-canary", int64(10)}, {"rollout-smi-stable", int64(90)}}) {
		t.Fatalf("backends %v", b)
	}
	if h.creates != 1 || h.patches != 1 || len(h.events) != 0 {
		t.Fatalf("creates %d patches %d events %v", h.creates, h.patches, h.events)
	}
}

func TestRouterNoOps(t *testing.T) {
	ctx := context.Background()
	h := newHarness()
	r := h.router(rollout(&v1alpha1.SMITrafficRouting{}), "")
	if r.Type() != traffic.TypeSMI {
		t.Errorf("Type %q", r.Type())
	}
	for name, err := range map[string]error{
		"UpdateHash":          r.UpdateHash(ctx, "canary", "stable"),
		"SetHeaderRoute":      r.SetHeaderRoute(ctx, &v1alpha1.SetHeaderRoute{Name: "hdr"}),
		"SetMirrorRoute":      r.SetMirrorRoute(ctx, &v1alpha1.SetMirrorRoute{Name: "mirror"}),
		"RemoveManagedRoutes": r.RemoveManagedRoutes(ctx),
	} {
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if ok, err := r.VerifyWeight(ctx, 5); ok != nil || err != nil {
		t.Errorf("VerifyWeight = %v, %v", ok, err)
	}
	if h.creates != 0 || h.patches != 0 || len(h.events) != 0 {
		t.Errorf("no-ops wrote: creates %d patches %d events %v", h.creates, h.patches, h.events)
	}
}
