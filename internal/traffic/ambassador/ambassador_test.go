package ambassador

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
	"github.com/aviary-rollouts/aviary/internal/traffic/traffictest"
)

const baseMapping = `apiVersion: getambassador.io/v2
kind: Mapping
metadata:
  name: web
  namespace: shop
  labels: {team: a}
  annotations: {note: mine}
spec:
  prefix: /web/
  rewrite: /
  service: web-stable.shop:8080
  timeout_ms: 3000
`

func rollout() *v1alpha1.Rollout {
	ro := &v1alpha1.Rollout{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "uid-1"}}
	ro.Spec.Strategy.Canary = &v1alpha1.CanaryStrategy{CanaryService: "web-canary", StableService: "web-stable",
		TrafficRouting: &v1alpha1.RolloutTrafficRouting{Ambassador: &v1alpha1.AmbassadorTrafficRouting{Mappings: []string{"web"}}}}
	return ro
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// fixture is a router over a fake API server holding objs, with its
// events and the requeues it asked for.
type fixture struct {
	c       client.Client
	r       *Router
	clock   *clock
	events  []string
	requeue []time.Duration
}

func newFixture(t *testing.T, apiVersion string, objs ...string) *fixture {
	b := fake.NewClientBuilder()
	for _, o := range objs {
		b = b.WithObjects(traffictest.Object(t, o))
	}
	f := &fixture{c: b.Build(), clock: &clock{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}
	f.r = &Router{Client: f.c, Rollout: rollout(), APIVersion: apiVersion, Now: f.clock.now,
		Events: traffic.Events{Recorder: func(reason, msg string) { f.events = append(f.events, reason+": "+msg) },
			Warn: func(reason, msg string) { f.events = append(f.events, "Warning "+reason+": "+msg) }},
		Requeue: func(d time.Duration) { f.requeue = append(f.requeue, d) }}
	return f
}

// canary is the canary clone as stored, its metadata cut to what the
// router decides (name, namespace, owner, annotations), as JSON; "" when
// there is none.
func (f *fixture) canary(t *testing.T, kind, apiVersion string) string {
	t.Helper()
	obj := &unstructured.Unstructured{}
	obj.SetAPIVersion(apiVersion)
	obj.SetKind(kind)
	err := f.c.Get(context.Background(), types.NamespacedName{Namespace: "shop", Name: "web-canary"}, obj)
	if apierrors.IsNotFound(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	kept := map[string]any{"name": obj.GetName(), "namespace": obj.GetNamespace()}
	if a := obj.GetAnnotations(); a != nil {
		kept["annotations"] = a
	}
	if o := obj.GetOwnerReferences(); o != nil {
		kept["owner"] = o[0].Kind + "/" + o[0].Name
	}
	obj.Object["metadata"] = kept
	j, err := json.Marshal(obj.Object)
	if err != nil {
		t.Fatal(err)
	}
	return string(j)
}

func canaryJSON(apiVersion, kind, weight, annotations string) string {
	ann := ""
	if annotations != "" {
		ann = `"annotations":` + annotations + `,`
	}
	return `{"apiVersion":"` + apiVersion + `","kind":"` + kind + `","metadata":{` + ann + `"name":"web-canary","namespace":"shop","owner":"Rollout/web"},` +
		`"spec":{"prefix":"/web/","rewrite":"/","service":"web-canary.shop:8080","timeout_ms":3000,"weight":` + weight + `}}`
}

// TestWalk walks an update's weights and its end: the clone at each
// weight, then at 0 kept for CleanupDelay and deleted, under both API
// groups.
func TestWalk(t *testing.T) {
	for _, api := range []struct{ version, kind, mapping string }{
		{"", "Mapping", baseMapping},
		{"getambassador.io/v3alpha1", "Mapping", strings.Replace(baseMapping, "getambassador.io/v2", "getambassador.io/v3alpha1", 1)},
		{"x.getambassador.io/v3alpha1", "AmbassadorMapping",
			strings.NewReplacer("getambassador.io/v2", "x.getambassador.io/v3alpha1", "kind: Mapping", "kind: AmbassadorMapping").Replace(baseMapping)},
	} {
		apiVersion := api.version
		if apiVersion == "" {
			apiVersion = "getambassador.io/v2"
		}
		f := newFixture(t, api.version, api.mapping)
		ctx := context.Background()
		zero := `{"` + ZeroSinceAnnotation + `":"2026-01-02T03:04:05Z"}`
		for _, step := range []struct {
			weight  int32
			advance time.Duration
			want    string
			requeue time.Duration // 0: none asked
		}{
			{weight: 0, want: ""}, // nothing is created at 0
			{weight: 10, want: canaryJSON(apiVersion, api.kind, "10", "")},
			{weight: 10, want: canaryJSON(apiVersion, api.kind, "10", "")},
			{weight: 50, want: canaryJSON(apiVersion, api.kind, "50", "")},
			{weight: 100, want: canaryJSON(apiVersion, api.kind, "100", "")},
			{weight: 0, want: canaryJSON(apiVersion, api.kind, "0", zero), requeue: CleanupDelay},
			{weight: 0, advance: 2 * time.Second, want: canaryJSON(apiVersion, api.kind, "0", zero), requeue: 3 * time.Second},
			{weight: 0, advance: 3 * time.Second, want: ""},
			{weight: 0, want: ""},
			{weight: 20, want: canaryJSON(apiVersion, api.kind, "20", "")},
		} {
			f.clock.t = f.clock.t.Add(step.advance)
			f.requeue = nil
			if err := f.r.SetWeight(ctx, step.weight); err != nil {
				t.Fatalf("%s weight %d: %v", apiVersion, step.weight, err)
			}
			if got := f.canary(t, api.kind, apiVersion); got != step.want {
				t.Errorf("%s weight %d:\n got %s\nwant %s", apiVersion, step.weight, got, step.want)
			}
			var want []time.Duration
			if step.requeue != 0 {
				want = []time.Duration{step.requeue}
			}
			if !equal(f.requeue, want) {
				t.Errorf("%s weight %d: requeues %v, want %v", apiVersion, step.weight, f.requeue, want)
			}
		}
		base := &unstructured.Unstructured{}
		base.SetAPIVersion(apiVersion)
		base.SetKind(api.kind)
		if err := f.c.Get(ctx, types.NamespacedName{Namespace: "shop", Name: "web"}, base); err != nil {
			t.Fatal(err)
		}
		if _, found, _ := unstructured.NestedFieldNoCopy(base.Object, "spec", "weight"); found || base.Object["spec"].(map[string]any)["service"] != "web-stable.shop:8080" {
			t.Errorf("base Mapping changed: %v", base.Object["spec"])
		}
	}
}

func equal(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSpecErrors: a missing Mapping and one with a weight stop the
// rollout with InvalidSpec naming the fix, and create nothing.
func TestSpecErrors(t *testing.T) {
	for _, c := range []struct {
		name, mapping, want, event string
	}{
		{"missing", "", `Mapping "web" not found in namespace "shop": create it or correct the name`, "Warning AmbassadorMappingNotFound"},
		{"weighted", strings.Replace(baseMapping, "  prefix:", "  weight: 30\n  prefix:", 1),
			`Mapping "web" defines spec.weight 30: remove it`, "Warning AmbassadorMappingConfigError"},
	} {
		var objs []string
		if c.mapping != "" {
			objs = append(objs, c.mapping)
		}
		f := newFixture(t, "", objs...)
		err := f.r.SetWeight(context.Background(), 10)
		var se *traffic.SpecError
		if !errors.As(err, &se) || se.Field != field || !strings.Contains(se.Msg, c.want) {
			t.Errorf("%s: error %v, want a SpecError on %s containing %q", c.name, err, field, c.want)
		}
		if len(f.events) != 1 || !strings.HasPrefix(f.events[0], c.event) {
			t.Errorf("%s: events %q, want %s", c.name, f.events, c.event)
		}
		if got := f.canary(t, "Mapping", "getambassador.io/v2"); got != "" {
			t.Errorf("%s: a canary Mapping was created: %s", c.name, got)
		}
	}
}

func TestGVK(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"getambassador.io/v2", "getambassador.io/v2, Kind=Mapping"},
		{"v3alpha1", "getambassador.io/v3alpha1, Kind=Mapping"},
		{"x.getambassador.io/v3alpha1", "x.getambassador.io/v3alpha1, Kind=AmbassadorMapping"},
		{"example.com/v1", "error"},
	} {
		gvk, err := GVK(c.in)
		got := gvk.String()
		if err != nil {
			got = "error"
		}
		if got != c.want {
			t.Errorf("GVK(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestCanaryName(t *testing.T) {
	long := strings.Repeat("a", 250)
	if got := CanaryName(long); got != strings.Repeat("a", 246)+"-canary" {
		t.Errorf("CanaryName of 250 characters = %q", got)
	}
	if got := CanaryName("web"); got != "web-canary" {
		t.Errorf("CanaryName(web) = %q", got)
	}
}
