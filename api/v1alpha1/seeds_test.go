package v1alpha1_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/aviary-rollouts/aviary/api/v1alpha1"
)

// strictRoundTrip decodes data into obj rejecting unknown fields, encodes it
// again and reports every field whose value did not survive.
func strictRoundTrip(data []byte, obj any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		return fmt.Errorf("strict decode into %T: %w", obj, err)
	}
	out, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("re-encode %T: %w", obj, err)
	}
	var in, back any
	if err := json.Unmarshal(data, &in); err != nil {
		return err
	}
	if err := json.Unmarshal(out, &back); err != nil {
		return err
	}
	if diffs := diffJSON(in, back); len(diffs) > 0 {
		return fmt.Errorf("%T does not round-trip:\n  %s", obj, strings.Join(diffs, "\n  "))
	}
	return nil
}

// newArgoObject returns an empty object of one of our kinds.
func newArgoObject(kind string) (runtime.Object, error) {
	s := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s.New(v1alpha1.GroupVersion.WithKind(kind))
}

// foreignGroups are third-party CRD groups whose schemas we do not carry;
// their seed documents are only checked for being well-formed objects.
var foreignGroups = map[string]bool{
	"traefik.io":          true,
	"traefik.containo.us": true,
	"networking.istio.io": true,
	"split.smi-spec.io":   true,
	"getambassador.io":    true,
	"appmesh.k8s.aws":     true,
	"apisix.apache.org":   true,
	"elbv2.k8s.aws":       true,
}

func TestSeedsDecodeStrictlyAndRoundTrip(t *testing.T) {
	docs := seedDocs(t)
	argoKinds := map[string]int{}
	for _, d := range docs {
		t.Run(d.where+"/"+d.kind(), func(t *testing.T) {
			gv, err := schema.ParseGroupVersion(d.apiVersion())
			if err != nil || d.kind() == "" {
				t.Fatalf("%s: not a Kubernetes object (apiVersion %q, kind %q)", d.where, d.apiVersion(), d.kind())
			}
			if md, _ := d.obj["metadata"].(map[string]any); md == nil || md["name"] == "" || md["name"] == nil {
				t.Fatalf("%s: %s has no metadata.name", d.where, d.kind())
			}
			var obj runtime.Object
			switch {
			case gv == v1alpha1.GroupVersion:
				argoKinds[d.kind()]++
				if obj, err = newArgoObject(d.kind()); err != nil {
					t.Fatalf("%s: kind %s is not one of ours: %v", d.where, d.kind(), err)
				}
			case foreignGroups[gv.Group]:
				return // well-formed is all we can say
			default:
				if obj, err = clientgoscheme.Scheme.New(gv.WithKind(d.kind())); err != nil {
					t.Fatalf("%s: %s %s is neither a core kind nor a known foreign CRD: %v", d.where, d.apiVersion(), d.kind(), err)
				}
			}
			if err := strictRoundTrip(d.json, obj); err != nil {
				t.Errorf("%s: %v", d.where, err)
			}
		})
	}
	for _, kind := range []string{"Rollout", "AnalysisTemplate"} {
		if argoKinds[kind] == 0 {
			t.Errorf("the seeds contain no %s: is the seed directory the right one?", kind)
		}
	}
}

// The round-trip check must catch a field our types do not carry, whether the
// decoder or the comparison is what notices it.
func TestRoundTripCatchesDroppedFields(t *testing.T) {
	// An unknown field is rejected by the strict decoder.
	unknown := []byte(`{"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout","metadata":{"name":"x"},
		"spec":{"strategy":{"canary":{"steps":[{"setWeight":5,"setWieght":6}]}}}}`)
	err := strictRoundTrip(unknown, &v1alpha1.Rollout{})
	if err == nil || !strings.Contains(err.Error(), "setWieght") {
		t.Errorf("unknown field: want an error naming setWieght, got %v", err)
	}

	// A field that decodes but is not encoded again (say, a json:"-" field)
	// is reported by the comparison with its path.
	var in, out any
	_ = json.Unmarshal([]byte(`{"name":"a","lost":"b"}`), &in)
	_ = json.Unmarshal([]byte(`{"name":"a"}`), &out)
	diffs := diffJSON(in, out)
	if len(diffs) != 1 || !strings.Contains(diffs[0], "lost: field dropped") {
		t.Errorf("dropped field: want one diff naming lost, got %q", diffs)
	}

	// A changed value and a non-empty added value are reported too.
	_ = json.Unmarshal([]byte(`{"spec":{"steps":[{"pause":{"duration":"2m"}}]}}`), &in)
	_ = json.Unmarshal([]byte(`{"spec":{"steps":[{"pause":{"duration":120}}],"paused":true}}`), &out)
	diffs = diffJSON(in, out)
	want := []string{`spec.steps[0].pause.duration: "2m" re-encoded as 120`, "spec.paused: field added"}
	for _, w := range want {
		found := false
		for _, d := range diffs {
			found = found || strings.Contains(d, w)
		}
		if !found {
			t.Errorf("want a diff containing %q, got %q", w, diffs)
		}
	}

	// Empty values added by Go's zero-value encoding are not differences.
	_ = json.Unmarshal([]byte(`{"spec":{"workloadRef":{"name":"a"}}}`), &in)
	_ = json.Unmarshal([]byte(`{"spec":{"workloadRef":{"name":"a"},"selector":null,"template":{"metadata":{"creationTimestamp":null},"spec":{"containers":null}},"strategy":{}}}`), &out)
	if diffs := diffJSON(in, out); len(diffs) != 0 {
		t.Errorf("zero values: want no diffs, got %q", diffs)
	}
}
