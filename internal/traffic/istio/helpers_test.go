package istio

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
	"github.com/aviary-rollouts/aviary/internal/traffic"
)

// object decodes a YAML manifest as the API server's JSON decoder would
// (integers as int64).
func object(t *testing.T, doc string) *unstructured.Unstructured {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatalf("yaml: %v\n%s", err, doc)
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(j); err != nil {
		t.Fatalf("decode: %v\n%s", err, doc)
	}
	return obj
}

// indent indents every line of s by n spaces, to nest YAML.
func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	lines := strings.Split(strings.Trim(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "\n")
}

// virtualService is VirtualService ns/vs with the given spec YAML.
func virtualService(t *testing.T, spec string) *unstructured.Unstructured {
	t.Helper()
	return object(t, "apiVersion: networking.istio.io/v1alpha3\nkind: VirtualService\nmetadata:\n  name: vs\n  namespace: ns\nspec:\n"+indent(spec, 2)+"\n")
}

// canonical is a JSON value re-encoded with sorted keys and float
// numbers, so two encodings of the same value compare equal.
func canonical(t *testing.T, v any) string {
	t.Helper()
	j, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var back any
	if err := json.Unmarshal(j, &back); err != nil {
		t.Fatal(err)
	}
	out, err := json.MarshalIndent(back, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// assertSpec compares obj's spec with the YAML want.
func assertSpec(t *testing.T, obj *unstructured.Unstructured, want string) {
	t.Helper()
	var w any
	if err := yaml.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want yaml: %v", err)
	}
	if got, exp := canonical(t, obj.Object["spec"]), canonical(t, w); got != exp {
		t.Errorf("spec:\n%s\nwant:\n%s", got, exp)
	}
}

// assertSpecError checks err is a *traffic.SpecError with field and a
// message containing msg; with field "" err must be nil.
func assertSpecError(t *testing.T, err error, field, msg string) {
	t.Helper()
	if field == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var se *traffic.SpecError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T), want a SpecError for %s", err, err, field)
	}
	if se.Field != field || !strings.Contains(se.Msg, msg) {
		t.Fatalf("SpecError %q: %q, want field %q and message containing %q", se.Field, se.Msg, field, msg)
	}
}

// single is a ref to ns/vs as spec.strategy.canary.trafficRouting.istio.virtualService.
func single(routes ...string) VirtualServiceRef {
	return VirtualServiceRef{Namespace: "ns", Name: "vs", Spec: v1alpha1.IstioVirtualService{Name: "vs", Routes: routes},
		Field: fieldIstio + ".virtualService"}
}

var (
	hostSplit   = Split{CanaryService: "canary-svc", StableService: "stable-svc"}
	subsetSplit = Split{CanarySubset: "canary", StableSubset: "stable"}
)

// with returns s with the managed routes set.
func (s Split) with(managed ...string) Split {
	s.ManagedRoutes = managed
	return s
}
