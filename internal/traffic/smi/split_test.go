package smi

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// rollout is a canary Rollout in namespace ns with SMI routing set by smi.
func rollout(smi *v1alpha1.SMITrafficRouting) *v1alpha1.Rollout {
	return &v1alpha1.Rollout{
		ObjectMeta: metav1.ObjectMeta{Name: "rollout-smi", Namespace: "ns", UID: types.UID("ro-uid")},
		Spec: v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutStrategy{Canary: &v1alpha1.CanaryStrategy{
			CanaryService:  "rollout-smi-canary",
			StableService:  "rollout-smi-stable",
			TrafficRouting: &v1alpha1.RolloutTrafficRouting{SMI: smi},
		}}},
	}
}

func TestGVK(t *testing.T) {
	for _, c := range []struct {
		in, want, err string
	}{
		{in: "", want: "v1alpha1"},
		{in: "v1alpha1", want: "v1alpha1"},
		{in: "v1alpha2", want: "v1alpha2"},
		{in: "v1alpha3", want: "v1alpha3"},
		{in: "v1alpha4", err: `unsupported TrafficSplit API version "v1alpha4"`},
	} {
		got, err := GVK(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("GVK(%q) error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		want := schema.GroupVersionKind{Group: "split.smi-spec.io", Version: c.want, Kind: "TrafficSplit"}
		if err != nil || got != want {
			t.Errorf("GVK(%q) = %v, %v; want %v", c.in, got, err, want)
		}
	}
}

func TestDesiredSpec(t *testing.T) {
	for _, c := range []struct {
		name       string
		smi        *v1alpha1.SMITrafficRouting
		weight     int32
		additional []traffic.WeightDestination
		want       Spec
		wantName   string
	}{{
		name:     "defaults: root is the stable Service, split named after the rollout",
		smi:      &v1alpha1.SMITrafficRouting{},
		weight:   5,
		want:     Spec{Service: "rollout-smi-stable", Backends: []Backend{{"rollout-smi-canary", 5}, {"rollout-smi-stable", 95}}},
		wantName: "rollout-smi",
	}, {
		name:     "configured root and name",
		smi:      &v1alpha1.SMITrafficRouting{RootService: "rollout-smi-root", TrafficSplitName: "rollout-smi-split"},
		weight:   50,
		want:     Spec{Service: "rollout-smi-root", Backends: []Backend{{"rollout-smi-canary", 50}, {"rollout-smi-stable", 50}}},
		wantName: "rollout-smi-split",
	}, {
		name:     "zero and full weights keep both backends",
		smi:      &v1alpha1.SMITrafficRouting{},
		weight:   100,
		want:     Spec{Service: "rollout-smi-stable", Backends: []Backend{{"rollout-smi-canary", 100}, {"rollout-smi-stable", 0}}},
		wantName: "rollout-smi",
	}, {
		name:   "additional destinations sit between canary and stable and come out of the stable share",
		smi:    &v1alpha1.SMITrafficRouting{RootService: "root"},
		weight: 5,
		additional: []traffic.WeightDestination{
			{ServiceName: "exp-baseline", PodTemplateHash: "abc", Weight: 5},
			{ServiceName: "exp-canary", PodTemplateHash: "def", Weight: 10},
		},
		want: Spec{Service: "root", Backends: []Backend{
			{"rollout-smi-canary", 5}, {"exp-baseline", 5}, {"exp-canary", 10}, {"rollout-smi-stable", 80},
		}},
		wantName: "rollout-smi",
	}, {
		name:     "no smi block still defaults",
		weight:   0,
		want:     Spec{Service: "rollout-smi-stable", Backends: []Backend{{"rollout-smi-canary", 0}, {"rollout-smi-stable", 100}}},
		wantName: "rollout-smi",
	}} {
		t.Run(c.name, func(t *testing.T) {
			ro := rollout(c.smi)
			if got := DesiredSpec(ro, c.weight, c.additional...); !reflect.DeepEqual(got, c.want) {
				t.Errorf("DesiredSpec = %+v, want %+v", got, c.want)
			}
			if got := TrafficSplitName(ro); got != c.wantName {
				t.Errorf("TrafficSplitName = %q, want %q", got, c.wantName)
			}
		})
	}
}

func TestNewTrafficSplit(t *testing.T) {
	ro := rollout(&v1alpha1.SMITrafficRouting{RootService: "root"})
	spec := DesiredSpec(ro, 5, traffic.WeightDestination{ServiceName: "exp", Weight: 10})
	for _, c := range []struct {
		version string
		want    string // spec as JSON
	}{
		{"v1alpha1", `{"backends":[{"service":"rollout-smi-canary","weight":"5"},{"service":"exp","weight":"10"},{"service":"rollout-smi-stable","weight":"85"}],"service":"root"}`},
		{"v1alpha2", `{"backends":[{"service":"rollout-smi-canary","weight":5},{"service":"exp","weight":10},{"service":"rollout-smi-stable","weight":85}],"service":"root"}`},
		{"v1alpha3", `{"backends":[{"service":"rollout-smi-canary","weight":5},{"service":"exp","weight":10},{"service":"rollout-smi-stable","weight":85}],"service":"root"}`},
	} {
		t.Run(c.version, func(t *testing.T) {
			gvk, err := GVK(c.version)
			if err != nil {
				t.Fatal(err)
			}
			obj := NewTrafficSplit(ro, gvk, "split", spec)
			if obj.GetAPIVersion() != "split.smi-spec.io/"+c.version || obj.GetKind() != "TrafficSplit" ||
				obj.GetName() != "split" || obj.GetNamespace() != "ns" {
				t.Errorf("object %s %s %s/%s", obj.GetAPIVersion(), obj.GetKind(), obj.GetNamespace(), obj.GetName())
			}
			wantOwner := metav1.OwnerReference{APIVersion: "argoproj.io/v1alpha1", Kind: "Rollout", Name: "rollout-smi", UID: "ro-uid",
				Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}
			if owners := obj.GetOwnerReferences(); len(owners) != 1 || !reflect.DeepEqual(owners[0], wantOwner) {
				t.Errorf("owner references %+v", owners)
			}
			got, err := json.Marshal(obj.Object["spec"])
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("spec\n got %s\nwant %s", got, c.want)
			}
		})
	}
}

// live is a TrafficSplit whose spec is the JSON spec, decoded the way the
// API server's answers are (integers as int64).
func live(t *testing.T, spec string) *unstructured.Unstructured {
	t.Helper()
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON([]byte(`{"apiVersion":"split.smi-spec.io/v1alpha1","kind":"TrafficSplit","metadata":{"name":"split"},"spec":` + spec + `}`)); err != nil {
		t.Fatal(err)
	}
	return obj
}

func TestSpecPatch(t *testing.T) {
	want := Spec{Service: "root", Backends: []Backend{{"canary", 5}, {"exp", 10}, {"stable", 85}}}
	const (
		v1Backends = `[{"service":"canary","weight":"5"},{"service":"exp","weight":"10"},{"service":"stable","weight":"85"}]`
		v2Backends = `[{"service":"canary","weight":5},{"service":"exp","weight":10},{"service":"stable","weight":85}]`
	)
	for _, c := range []struct {
		name    string
		version string
		live    string
		want    string // the patch, or "" for none
	}{
		{"v1alpha1 unchanged", "v1alpha1", `{"service":"root","backends":` + v1Backends + `}`, ""},
		{"v1alpha1 quantities compared by value", "v1alpha1",
			`{"service":"root","backends":[{"service":"canary","weight":"5000m"},{"service":"exp","weight":10},{"service":"stable","weight":85.0}]}`, ""},
		{"v1alpha1 weight changed", "v1alpha1",
			`{"service":"root","backends":[{"service":"canary","weight":"1"},{"service":"exp","weight":"10"},{"service":"stable","weight":"89"}]}`,
			`{"spec":{"backends":` + v1Backends + `}}`},
		{"v1alpha1 unparsable weight", "v1alpha1",
			`{"service":"root","backends":[{"service":"canary","weight":"five"},{"service":"exp","weight":"10"},{"service":"stable","weight":"85"}]}`,
			`{"spec":{"backends":` + v1Backends + `}}`},
		{"v1alpha1 root changed only", "v1alpha1", `{"service":"old-root","backends":` + v1Backends + `}`,
			`{"spec":{"service":"root"}}`},
		{"v1alpha1 empty spec", "v1alpha1", `{}`, `{"spec":{"backends":` + v1Backends + `,"service":"root"}}`},
		{"v1alpha2 unchanged", "v1alpha2", `{"service":"root","backends":` + v2Backends + `}`, ""},
		{"v1alpha2 integral float is unchanged", "v1alpha2",
			`{"service":"root","backends":[{"service":"canary","weight":5.0},{"service":"exp","weight":10},{"service":"stable","weight":85}]}`, ""},
		{"v1alpha2 quantity strings are rewritten as integers", "v1alpha2", `{"service":"root","backends":` + v1Backends + `}`,
			`{"spec":{"backends":` + v2Backends + `}}`},
		{"v1alpha2 missing weight is written", "v1alpha2",
			`{"service":"root","backends":[{"service":"canary"},{"service":"exp","weight":10},{"service":"stable","weight":85}]}`,
			`{"spec":{"backends":` + v2Backends + `}}`},
		{"v1alpha3 unchanged, matches and extra keys ignored", "v1alpha3",
			`{"service":"root","matches":[{"kind":"HTTPRouteGroup","name":"g"}],"backends":[{"service":"canary","weight":5,"x":1},{"service":"exp","weight":10},{"service":"stable","weight":85}]}`, ""},
		{"v1alpha3 experiment destination gone", "v1alpha3",
			`{"service":"root","backends":[{"service":"canary","weight":5},{"service":"stable","weight":95}]}`,
			`{"spec":{"backends":` + v2Backends + `}}`},
		{"v1alpha3 backends reordered", "v1alpha3",
			`{"service":"root","backends":[{"service":"stable","weight":85},{"service":"exp","weight":10},{"service":"canary","weight":5}]}`,
			`{"spec":{"backends":` + v2Backends + `}}`},
		{"v1alpha3 fractional weight", "v1alpha3",
			`{"service":"root","backends":[{"service":"canary","weight":5.5},{"service":"exp","weight":10},{"service":"stable","weight":85}]}`,
			`{"spec":{"backends":` + v2Backends + `}}`},
		{"v1alpha3 backends not a list", "v1alpha3", `{"service":"root","backends":"none"}`,
			`{"spec":{"backends":` + v2Backends + `}}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := SpecPatch(live(t, c.live), want, c.version)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != c.want {
				t.Errorf("patch\n got %s\nwant %s", got, c.want)
			}
		})
	}
}
